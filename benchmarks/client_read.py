"""Client read cost: throughput and peak memory of ``ArrayClient.read()`` against a plain
httpx GET of the same bytes, measured in the same run.

The server runs as a separate process (``tiled serve catalog``), so the memory traced
here (tracemalloc, which numpy reports to) is the client's alone. The ratio that matters
is peak memory / array size: 1.0 means the body went straight into the result.

    python3 benchmarks/client_read.py [--mib 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy

from tiled.client import from_uri
from tiled.structures.array import ArrayStructure
from tiled.structures.data_source import Asset, DataSource
from tiled.testing.server import free_port

MB = 1024**2
KEY = "bench"


def measure(func: Callable[[], object], repeat: int) -> tuple[float, int]:
    """Best wall time over ``repeat`` untraced runs, then the peak of one traced run
    (tracemalloc slows allocation-heavy code, so it is kept out of the timing)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
        del result
    tracemalloc.start()
    result = func()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return best, peak


def serve(directory: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tiled.cli.main", "serve", "catalog", "--temp"),
            *("-r", str(directory), "--api-key", KEY, "--port", str(port)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("server did not start") from None
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = args.mib * MB // (8 * 1024)
    array = numpy.random.default_rng(0).random((rows, 1024))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.npy"
        numpy.save(path, array)
        port = free_port()
        process = serve(Path(tmp), port)
        try:
            url = f"http://127.0.0.1:{port}"
            with from_uri(url, api_key=KEY) as client:
                source = DataSource(
                    structure=ArrayStructure.from_array(array),
                    mimetype="application/x-npy",
                    assets=[Asset(data_uri=path.as_uri(), parameter="data_uri")],
                )
                node = client.new("array", [source], key="big")
                assert numpy.array_equal(node.read(), array)
                headers = {"Authorization": f"Apikey {KEY}"}
                with httpx.Client(headers=headers, timeout=300) as http:

                    def raw() -> numpy.ndarray:
                        body = http.get(f"{url}/api/v1/array/full/big").content
                        return numpy.frombuffer(body, array.dtype).reshape(array.shape)

                    raw_time, raw_peak = measure(raw, args.repeat)
                ours_time, ours_peak = measure(node.read, args.repeat)
                client.context.max_bytes_per_request = 16 * MB
                split_time, split_peak = measure(node.read, args.repeat)
        finally:
            process.terminate()
            process.wait(timeout=15)
    size = array.nbytes
    print(
        f"Machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}; "
        f"{size / MB:.0f} MiB float64 NPY, best of {args.repeat}"
    )
    print("| read | MB/s | vs raw httpx | peak client memory | peak / array size |")
    print("|---|---|---|---|---|")
    for name, seconds, peak in [
        ("raw httpx GET + frombuffer", raw_time, raw_peak),
        ("ArrayClient.read() (one request)", ours_time, ours_peak),
        ("ArrayClient.read() (16 MiB pieces)", split_time, split_peak),
    ]:
        print(
            f"| {name} | {size / MB / seconds:,.0f} | {raw_time / seconds:.2f}x | "
            f"{peak / MB:,.0f} MiB | {peak / size:.2f} |"
        )


if __name__ == "__main__":
    main()
