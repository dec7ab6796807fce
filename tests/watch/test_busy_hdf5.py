"""Reading a registered HDF5 file while a writer holds it open answers 503 with
Retry-After (HDF5's file lock, errno 11), never 500; once the writer closes, it reads."""

from __future__ import annotations

import subprocess
import sys
import time

import h5py
import httpx
import numpy
import pytest

from tiled.testing.adapters import ContainerCase
from tiled.testing.served import API_KEY, register
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial

WRITER = """
import sys, h5py
f = h5py.File(sys.argv[1], "a")
f["later"] = [1, 2, 3]
f.flush()
print("open", flush=True)
sys.stdin.readline()
f.close()
"""


def test_a_file_held_by_a_writer_answers_503_with_retry_after(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with h5py.File(data / "scan.h5", "w") as f:
        f["counts"] = numpy.arange(10.0)
    with (
        run_server(str(tmp_path / "catalog.db"), readable=[tmp_path], api_key=API_KEY) as url,
        httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Apikey {API_KEY}"}, timeout=30
        ) as http,
    ):
        register(http, ContainerCase("scan", "application/x-hdf5", [data / "scan.h5"], {}))
        assert http.get("/array/full/scan/counts").status_code == 200
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data / "scan.h5")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout.readline().strip() == "open"
            for route in ("/array/full/scan/counts", "/metadata/scan/counts"):
                response = http.get(route)
                assert response.status_code == 503, (route, response.text)
                assert int(response.headers["Retry-After"]) >= 1
                assert "locked by a writer" in response.json()["detail"]
                assert str(tmp_path) not in response.json()["detail"]
        finally:
            writer.communicate("close\n", timeout=60)
        deadline = time.monotonic() + 60
        while (response := http.get("/array/full/scan/counts")).status_code != 200:
            assert time.monotonic() < deadline, response.text
            time.sleep(0.2)
