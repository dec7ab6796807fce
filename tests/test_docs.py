"""The commands in docs/registering.md run as written (paths and ports substituted)."""

import contextlib
import io
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy
import pytest
import tifffile

from tiled.testing.server import free_port

DOC = Path(__file__).parent.parent / "docs" / "registering.md"
pytestmark = pytest.mark.serial


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def commands(block):
    """Shell lines of a block, with backslash continuations joined."""
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def run_tiled(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tiled.cli.main", *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextlib.contextmanager
def background(args, cwd, port):
    """Run a documented command in the background until the block ends (pipes closed)."""
    with subprocess.Popen(
        [sys.executable, "-m", "tiled.cli.main", *args[1:]],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.stderr.read()
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)
            yield
        finally:
            process.terminate()
            process.communicate(timeout=15)


def substitute(args, data, port, uri=None):
    out = []
    for arg in args:
        arg = arg.replace("/data/beamline", str(data)).replace("8000", str(port))
        if uri and arg.startswith("postgresql://"):
            arg = uri
        out.append(arg)
    return out


def test_quick_start_runs_as_written(tmp_path):
    data = tmp_path / "beamline"
    data.mkdir()
    frames = numpy.arange(2 * 512 * 512, dtype="int32").reshape(2, 512, 512)
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(data / f"image{i}.tiff", frame)
    port = free_port()
    init, serve = (substitute(c, data, port) for c in commands(blocks("bash")[0]))
    assert run_tiled(init, tmp_path).returncode == 0
    assert (tmp_path / "catalog.db").exists()
    with background(serve, tmp_path, port):
        code = blocks("python")[0].replace("/data/beamline", str(data))
        code = code.replace("localhost:8000", f"127.0.0.1:{port}")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(DOC), "exec"), {})
    assert printed.getvalue().split("\n")[:2] == ["(2, 512, 512)", "(10, 512)"]


@pytest.mark.postgres
def test_production_commands_run_as_written(tmp_path, postgres_uri):
    port = free_port()
    init, serve = (
        substitute(c, tmp_path, port, uri=postgres_uri) for c in commands(blocks("bash")[1])
    )
    serve = [a if a != "0.0.0.0" else "127.0.0.1" for a in serve]
    serve += ["--api-key", "k"]
    for directory in ("/data/a", "/data/b"):
        index = serve.index(directory)
        serve[index] = str(tmp_path)
    assert run_tiled(init, tmp_path).returncode == 0
    with background(serve, tmp_path, port):
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/metadata/", headers={"Authorization": "Apikey k"}
        )
        assert response.status_code == 200
