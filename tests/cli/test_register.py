"""``tiled register URI DIR`` as users run it: a subprocess against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy
import pytest

from tiled.testing.server import free_port, run_server
from tiled.testing.trees import write_csv, write_indexing_tree, write_npy

pytestmark = pytest.mark.serial

KEY = "secret"
HEADERS = {"Authorization": f"Apikey {KEY}"}
WORKTREE = str(Path(__file__).resolve().parents[2])


def register(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("TILED_API_KEY", None)
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (WORKTREE, environment.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "tiled.cli.main", "register", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        stdin=subprocess.DEVNULL,
    )


def keys(url: str, path: str = "") -> list[str]:
    response = httpx.get(f"{url}/api/v1/search/{path}", headers=HEADERS, timeout=30)
    response.raise_for_status()
    return [item["id"] for item in response.json()["data"]]


def structure(url: str, path: str) -> dict:
    response = httpx.get(f"{url}/api/v1/metadata/{path}", headers=HEADERS, timeout=30)
    response.raise_for_status()
    return response.json()["data"]["attributes"]["structure"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_indexing_tree(root)
    return root


def test_register_twice_then_changes(sqlite_uri, data):
    with run_server(sqlite_uri, readable=[data.parent]) as url:
        first = register(url, "--api-key", KEY, str(data))
        assert first.returncode == 0, first.stderr
        assert "Registered 18, replaced 0, unchanged 0, removed 0" in first.stderr
        assert "16 inspected" in first.stderr
        assert "hidden: 1" in first.stderr
        assert "unrecognised: 1" in first.stderr
        assert "table" in keys(url)
        assert keys(url, "nested") == ["deeper"]

        second = register(url, "--api-key", KEY, str(data))
        assert second.returncode == 0, second.stderr
        assert "Registered 0, replaced 0, unchanged 16, removed 0" in second.stderr
        assert "(0 inspected" in second.stderr

        numpy.save(data / "array.npy", numpy.zeros((2, 2, 2)))
        (data / "table.csv").unlink()
        write_npy(data / "nested" / "fresh.npy", 0)
        third = register(url, "--api-key", KEY, str(data))
        assert third.returncode == 0, third.stderr
        assert "Registered 1, replaced 1, unchanged 14, removed 1" in third.stderr
        assert structure(url, "array")["shape"] == [2, 2, 2]
        assert "table" not in keys(url)
        assert "fresh" in keys(url, "nested")


def test_prefix_and_environment_key(sqlite_uri, data):
    with run_server(sqlite_uri, readable=[data.parent]) as url:
        result = register(url, str(data), "--prefix", "/some/where", env={"TILED_API_KEY": KEY})
        assert result.returncode == 0, result.stderr
        assert "table" in keys(url, "some/where")
        assert keys(url, "some/where/nested/deeper") == ["inner"]


def test_refusals_are_printed_and_exit_non_zero(sqlite_uri, data, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with run_server(sqlite_uri, readable=[elsewhere]) as url:  # data is not readable
        result = register(url, "--api-key", KEY, str(data))
    assert result.returncode == 1
    assert "Refused table" in result.stderr
    assert "Refused scan_" in result.stderr


def test_wrong_key_is_an_error(sqlite_uri, data):
    with run_server(sqlite_uri, readable=[data.parent]) as url:
        result = register(url, "--api-key", "wrong", str(data))
    assert result.returncode != 0
    assert "401" in result.stderr or "Invalid API key" in result.stderr


def test_unreachable_server(data):
    result = register(f"http://127.0.0.1:{free_port()}", "--api-key", KEY, str(data))
    assert result.returncode == 2
    assert "could not reach" in result.stderr


def test_collisions_are_named(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    write_csv(root / "run.csv", 0)
    write_npy(root / "run.npy", 0)
    with run_server(sqlite_uri, readable=[root]) as url:
        result = register(url, "--api-key", KEY, str(root))
        assert result.returncode == 0, result.stderr
        assert "Key collision" in result.stderr
        assert "run.csv" in result.stderr
        assert "run.npy" in result.stderr
        assert keys(url) == []


def test_official_command_line(sqlite_uri, data):
    """``tiled register http://localhost:8000 --api-key SECRET DIR --prefix /some/where``"""
    with run_server(sqlite_uri, readable=[data.parent]) as url:
        result = register(url, "--api-key", KEY, str(data), "--prefix", "/some/where")
        assert result.returncode == 0, result.stderr
        options = ["--keep-ext", "--include-ext", ".csv", "--verbose", "--concurrency", "1"]
        result = register(url, "--api-key", KEY, str(data), "--prefix", "/csv", *options)
        assert result.returncode == 0, result.stderr
        assert sorted(keys(url, "csv")) == ["nested", "table.csv"]
