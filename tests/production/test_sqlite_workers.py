"""Several workers on one SQLite file stay correct (WAL, BEGIN IMMEDIATE, busy timeout);
an in-memory SQLite catalog, which workers cannot share, is refused with a message."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tiled.testing.processes import serve_catalog_process

from .conftest import API_KEY, client

pytestmark = pytest.mark.serial


def test_concurrent_writes_through_two_workers_on_sqlite(tmp_path):
    catalog = tmp_path / "catalog.db"
    args = [str(catalog), "--init", "--api-key", API_KEY, "--workers", "2"]
    with serve_catalog_process(args) as server:

        def write(writer: int) -> list[int]:
            statuses = []
            with client(server.url) as http:
                parent = f"w{writer}"
                body = {"id": parent, "structure_family": "container", "metadata": {}, "specs": []}
                statuses.append(http.post("/metadata/", json=body).status_code)
                for i in range(15):
                    child = {"id": f"n{i}", "structure_family": "container",
                             "metadata": {"i": i}, "specs": []}  # fmt: skip
                    statuses.append(http.post(f"/metadata/{parent}", json=child).status_code)
                    statuses.append(http.get(f"/search/{parent}").status_code)
            return statuses

        with ThreadPoolExecutor(6) as pool:
            statuses = [s for result in pool.map(write, range(6)) for s in result]
        assert set(statuses) == {200}
        with client(server.url) as http:
            for writer in range(6):
                count = http.get(f"/search/w{writer}", params={"fields": "count"})
                assert count.json()["meta"]["count"] == 15


def test_in_memory_sqlite_with_workers_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "tiled.cli.main", "serve", "catalog", "sqlite:///:memory:",
         "--init", "--api-key", "k", "--workers", "2", "--port", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "in-memory SQLite catalog cannot be shared" in result.stderr


def test_api_key_stays_out_of_command_lines_and_logs(tmp_path: Path):
    env = {"TILED_SINGLE_USER_API_KEY": "key-in-env-7c1"}
    args = ["--temp", "-r", str(tmp_path), "--workers", "2", "--log-format", "json"]
    with serve_catalog_process(args, env=env) as server:
        with client(server.url) as http:
            http.headers["Authorization"] = "Apikey key-in-env-7c1"
            assert http.get("/metadata/", params={"api_key": "key-in-env-7c1"}).status_code == 200
        command_lines = subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True, check=True
        ).stdout
        server.stop()
        output = server.output()
    assert "key-in-env-7c1" not in command_lines
    assert "key-in-env-7c1" not in output
    assert '"query": "api_key=[redacted]"' in output


def test_adapter_option_reaches_every_worker(tmp_path):
    """--adapter is registered in the parent; workers are fresh interpreters and must
    register it again, or half the requests would not know the mimetype."""
    import numpy
    import tifffile

    from tiled.testing.bodies import registration_body

    tifffile.imwrite(tmp_path / "a.tiff", numpy.arange(64, dtype="uint8").reshape(8, 8))
    args = ["--temp", "-r", str(tmp_path), "--api-key", API_KEY, "--workers", "2",
            "--adapter", "image/x-test-tiff=tiled.adapters.tiff:TIFFAdapter"]  # fmt: skip
    with serve_catalog_process(args) as server, client(server.url) as http:
        body = registration_body("a", tmp_path / "a.tiff", "image/tiff")
        body["data_sources"][0]["mimetype"] = "image/x-test-tiff"
        assert http.post("/register/", json=body).status_code == 200
        for _ in range(12):  # a new connection each time: spread over both workers
            block = http.get("/array/block/a", params={"block": "0,0"},
                             headers={"Accept": "application/octet-stream",
                                      "Connection": "close"})  # fmt: skip
            assert block.status_code == 200, block.text
            assert block.content == bytes(range(64))
