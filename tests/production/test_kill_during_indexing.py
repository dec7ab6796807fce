"""SIGKILL ``tiled serve directory --catalog`` in the middle of indexing a tree; after a
restart the catalog is consistent (no half-registered node, no orphaned rows) and indexing
finishes the job, re-inspecting only what the first run had not written.

A ``--walker`` hook holds the walk at a directory named ``late`` until a release file
exists, so the kill lands mid-walk whatever the machine's speed.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.cli.test_serve_directory import HEADERS, HOLDING_WALKER, KEY, serve_directory
from tiled.testing.catalog_checks import catalog_problems
from tiled.testing.trees import write_csv, write_mixed_tree

pytestmark = [pytest.mark.serial, pytest.mark.slow]


def indexing(server) -> dict:
    return server.get("/api/v1/indexing", headers=HEADERS).json()


def count_below(url: str, path: str) -> int:
    response = httpx.get(f"{url}/api/v1/search/{path}", headers=HEADERS, timeout=30)
    return response.json()["meta"]["count"] if response.status_code == 200 else 0


def test_sigkill_mid_indexing_then_restart_finishes(tmp_path):
    data = tmp_path / "data"
    early = sum(write_mixed_tree(data / "early", 300, per_directory=100).values())
    (data / "late").mkdir()
    write_csv(data / "late" / "last.csv", 0)
    unwalked = sum(write_mixed_tree(data / "zlast", 300, seed=1, per_directory=100).values())
    (tmp_path / "holding_walker.py").write_text(HOLDING_WALKER)
    release = tmp_path / "release"
    env = {"PYTHONPATH": str(tmp_path), "TILED_TEST_RELEASE": str(release)}
    catalog = tmp_path / "kept.db"
    args = ("--api-key", KEY, "--catalog", str(catalog), str(data))

    with serve_directory(*args, "--walker", "holding_walker:walker", env=env) as server:
        deadline = time.monotonic() + 180
        while indexing(server)["registered"] < early:  # files and their directories
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        state = indexing(server)
        assert not state["done"]
        assert state["registered"] >= early
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)

    assert not any(catalog_problems(str(catalog)).values())

    release.touch()
    with serve_directory(*args, "--walker", "holding_walker:walker", env=env) as server:
        deadline = time.monotonic() + 300
        while not (state := indexing(server))["done"]:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.2)
        assert state["errors"] == 0
        # What the first run committed is not reopened; the rest, and last.csv, are.
        assert state["inspected"] == unwalked + 1
        assert state["unchanged"] == early
        assert count_below(server.url, "late") == 1
        assert count_below(server.url, "zlast") > 0
    assert not any(catalog_problems(str(catalog)).values())
