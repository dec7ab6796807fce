"""The README's commands work as written (ports and paths substituted), and CI runs its
test command verbatim."""

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy
import pytest
import tifffile

from tiled.testing.server import free_port, run_server

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
pytestmark = pytest.mark.serial


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    set_up = blocks("bash")[0].strip().splitlines()
    assert set_up[0] == "python3 -m pip install -e . && tiled serve demo"
    assert set_up[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_serve_demo_as_written(tmp_path):
    from tiled.client import from_uri

    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "tiled.cli.main", "serve", "demo", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            key = None
            for line in process.stderr:
                match = re.search(r'from_uri\("([^"]+)", api_key="([^"]+)"\)', line)
                if match:
                    url, key = match.groups()
                    break
            assert key, "serve demo printed no client line"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, "serve demo exited"
                    assert time.monotonic() < deadline, "serve demo did not start"
                    time.sleep(0.1)
            with from_uri(url, api_key=key) as client:
                assert set(client) >= {"image", "scan", "table", "measurements", "volume"}
                assert client["scan"].read().shape == (5, 256, 256)
                assert client["scan"][2, 0, :3].dtype == numpy.uint16
                assert list(client["table"].read()["x"]) == list(range(10))
                assert client["experiment/entry/counts"][1, :3].tolist() == [100, 101, 102]
        finally:
            process.terminate()
            process.communicate(timeout=15)
    assert (tmp_path / "example-data" / "image.tif").exists()


def test_quick_tour_python_runs_as_written(tmp_path, sqlite_uri):
    data = tmp_path / "beamline"
    data.mkdir()
    frames = numpy.arange(2 * 512 * 512, dtype="int32").reshape(2, 512, 512)
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(data / f"image{i}.tiff", frame)
    (code,) = blocks("python")
    with run_server(sqlite_uri, readable=[data], api_key="SECRET") as url:
        code = code.replace("/data/beamline", str(data)).replace("http://localhost:8000", url)
        namespace = {}
        exec(compile(code, "README.md", "exec"), namespace)
        node = namespace["node"]
        assert numpy.array_equal(node.read(), frames)
        assert numpy.array_equal(node[1, 100:110, :], frames[1, 100:110, :])
        node.context.close()
