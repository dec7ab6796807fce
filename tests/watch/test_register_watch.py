"""``tiled register --watch URI DIR``: a separate indexer process keeps a ``serve catalog``
server in step over HTTP (bulk endpoints) as files come and go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
import pytest

from tiled.testing.server import run_server

from .harness import DEADLINE, KEY, WORKTREE, Server

pytestmark = [pytest.mark.serial, pytest.mark.slow]


class Remote(Server):
    """The HTTP helpers of :class:`Server`, pointed at an in-thread server, with the
    register process standing in for the server process (its death fails waits)."""


def test_register_watch_follows_additions_changes_and_removals(sqlite_uri, tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    numpy.save(data / "first.npy", numpy.arange(3))
    numpy.save(data / "sub" / "inner.npy", numpy.arange(3))
    log_path = Path(tempfile.mkdtemp(prefix="tiled-register-watch-")) / "register.log"
    environment = {**os.environ, "PYTHONPATH": WORKTREE}
    environment.pop("TILED_API_KEY", None)
    with run_server(sqlite_uri, readable=[tmp_path], api_key=KEY) as url:
        argv = [sys.executable, "-m", "tiled.cli.main", "register", "--watch", url, str(data)]
        argv += ["--api-key", KEY, "--settle", "1", "--prefix", "/mirror"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,
            )
        remote = Remote(process, url, log_path)
        try:
            remote.wait_for(
                "the initial registration", lambda: remote.keys("mirror") == {"first", "sub"}
            )
            numpy.save(data / "second.npy", numpy.arange(5))
            (data / "first.npy").unlink()
            (data / "new").mkdir()
            numpy.save(data / "new" / "deep.npy", numpy.arange(2))
            numpy.save(data / "sub" / "inner.npy", numpy.arange(9))
            remote.wait_for(
                "the changes over HTTP",
                lambda: (
                    remote.keys("mirror") == {"second", "sub", "new"}
                    and remote.keys("mirror/new") == {"deep"}
                    and remote.metadata("mirror/sub/inner")["attributes"]["structure"]["shape"]
                    == [9]
                ),
                timeout=DEADLINE,
            )
            assert process.poll() is None, remote.output()
            assert "Registered 3, replaced 0" in remote.output()  # two files, one directory
        finally:
            remote.http.close()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)
