"""``tiled serve directory`` as users run it: a real subprocess over real HTTP.

The server must answer before the walk ends. To prove it without timing, a ``--walker``
hook holds the walk at one directory until the test creates a release file: meanwhile the
server answers, reports the walk in progress and already serves what it found.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tiled.testing.processes import tiled_process
from tiled.testing.trees import write_csv, write_indexing_tree, write_npy

pytestmark = pytest.mark.serial

KEY = "secret"
HEADERS = {"Authorization": f"Apikey {KEY}"}
WORKTREE = str(Path(__file__).resolve().parents[2])

HOLDING_WALKER = '''
import os, time
from pathlib import Path

def walker(directory, key_path, options):
    """Hold the walk at any directory named 'late' until the release file exists."""
    if directory.name == "late":
        release = Path(os.environ["TILED_TEST_RELEASE"])
        deadline = time.monotonic() + 300
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return None
'''


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]


@contextmanager
def serve_directory(*args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``tiled serve directory ARGS --port P`` until the block ends (output in a file)."""
    environment = dict(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (environment.get("PYTHONPATH", os.environ.get("PYTHONPATH", "")), WORKTREE) if p
    )
    with tiled_process(["serve", "directory", *args], env=environment) as process:
        yield Server(process.process, process.url, process.log_path)


def wait_indexed(server: Server, headers: dict[str, str] | None = HEADERS) -> dict:
    deadline = time.monotonic() + 180
    while True:
        state = server.get("/api/v1/indexing", headers=headers).json()
        if state["done"]:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"indexing did not finish: {state}\n{server.output()}")
        time.sleep(0.1)


def keys(server: Server, path: str = "") -> list[str]:
    response = server.get(f"/api/v1/search/{path}", headers=HEADERS)
    if response.status_code == 404:  # not indexed yet
        return []
    response.raise_for_status()
    return [item["id"] for item in response.json()["data"]]


def test_answers_before_the_walk_ends(tmp_path):
    data = tmp_path / "data"
    write_indexing_tree(data / "early")
    (data / "late").mkdir(parents=True)
    write_csv(data / "late" / "last.csv", 0)
    (tmp_path / "holding_walker.py").write_text(HOLDING_WALKER)
    release = tmp_path / "release"
    env = {
        "PYTHONPATH": str(tmp_path),
        "TILED_TEST_RELEASE": str(release),
    }
    with serve_directory(
        "--api-key", KEY, str(data), "--walker", "holding_walker:walker", env=env
    ) as server:
        state = server.get("/api/v1/indexing", headers=HEADERS).json()
        assert not state["done"]
        assert state["phase"] in ("starting", "walking", "inspecting")
        # What was found before the held directory is served meanwhile.
        deadline = time.monotonic() + 120
        while "table" not in keys(server, "early"):
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert not server.get("/api/v1/indexing", headers=HEADERS).json()["done"]
        release.touch()
        state = wait_indexed(server)
        assert state["phase"] == "idle"
        assert keys(server, "late") == ["last"]
        assert state["skipped"] == {"hidden": 1, "unrecognised": 1}
        assert state["errors"] == 0
        metrics = server.get("/api/v1/metrics").text
        assert 'tiled_indexing_items_total{outcome="registered"}' in metrics


def test_public_server_reads_anonymously(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_npy(data / "a.npy", 0)
    with serve_directory("--public", "--api-key", KEY, str(data)) as server:
        wait_indexed(server, headers=None)
        assert server.get("/api/v1/metadata/a").status_code == 200
        assert server.get("/api/v1/indexing").status_code == 200


def test_api_key_protects_reads_and_indexing_state(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_npy(data / "a.npy", 0)
    with serve_directory("--api-key", KEY, str(data)) as server:
        wait_indexed(server)
        assert server.get("/api/v1/metadata/a").status_code == 401
        assert server.get("/api/v1/indexing").status_code == 401
        assert server.get("/api/v1/metadata/a", headers=HEADERS).status_code == 200
        assert server.get("/api/v1/array/full/a", headers=HEADERS).status_code == 200


def test_generated_key_is_printed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with serve_directory(str(data), env={"TILED_SINGLE_USER_API_KEY": ""}) as server:
        wait_for = time.monotonic() + 30
        while "No --api-key was given" not in server.output():
            assert time.monotonic() < wait_for, server.output()
            time.sleep(0.1)
        key = server.output().split("Keep it secret:")[1].split()[0]
        assert server.get("/api/v1/indexing", headers={"Authorization": f"Apikey {key}"}).json()


def test_catalog_file_makes_the_next_start_a_quick_resync(tmp_path):
    data = tmp_path / "data"
    write_indexing_tree(data)
    catalog = tmp_path / "kept.db"
    with serve_directory("--api-key", KEY, "--catalog", str(catalog), str(data)) as server:
        first = wait_indexed(server)
    assert first["inspected"] == 16
    assert catalog.exists()
    write_npy(data / "added.npy", 1)
    with serve_directory("--api-key", KEY, "--catalog", str(catalog), str(data)) as server:
        second = wait_indexed(server)
        assert "added" in keys(server)
    assert second["inspected"] == 1  # only the new file was opened
    assert second["unchanged"] == 16
    assert second["registered"] == 1


def test_temporary_catalog_is_deleted_at_exit(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_npy(data / "a.npy", 0)
    private = tmp_path / "tmp"  # this server's own temporary directory: other tests' servers
    private.mkdir()  # running meanwhile keep theirs elsewhere
    with serve_directory("--api-key", KEY, str(data), env={"TMPDIR": str(private)}) as server:
        wait_indexed(server)
        created = list(private.glob("tiled-directory-*"))
        assert created
    assert not any(p.exists() for p in created)


def test_options_reach_the_planner(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "t.csv", 0)
    write_npy(data / "a.npy", 0)
    write_csv(data / "x.dat", 0)
    args = ["--api-key", KEY, "--keep-ext", "--include-ext", ".csv", "--include-ext", ".dat"]
    args += ["--ext", ".dat=text/csv"]
    with serve_directory(*args, str(data)) as server:
        state = wait_indexed(server)
        assert sorted(keys(server)) == ["t.csv", "x.dat"]
        assert state["skipped"].get("excluded-extension") == 1
