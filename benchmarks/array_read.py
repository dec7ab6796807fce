"""Full-array read throughput over HTTP, against reading the same file directly.

Writes a 128 MiB float64 HDF5 dataset and a 128 MiB uint16 TIFF stack, serves them with
``tiled serve catalog`` in a separate process, and reports MB/s for: a direct read with
h5py/tifffile (cold: the file's pages dropped from the cache; warm), raw HTTP (one httpx
GET of /array/full, sending the Accept-Encoding our client sends), and our Python
client's ``read()``; plus the latency of reading one block. Ratios are against the warm
direct read measured in the same run. Random data does not compress, so the server must
send it as is (the "encoding" column shows what it chose).

    python3 benchmarks/array_read.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import httpx
import numpy
import tifffile

from tiled.client import from_uri
from tiled.testing.served import registration_body
from tiled.testing.server import free_port

MB = 1024**2
KEY = "bench"


def drop_cache(path: Path) -> None:
    """Evict the file's pages so the next read comes from disk (best effort)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def rates(nbytes: int, func: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best, median) MB/s over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return nbytes / MB / min(times), nbytes / MB / statistics.median(times)


@contextmanager
def server(directory: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "tiled.cli.main", "serve", "catalog", "--temp"]
    command += ["-r", str(directory), "--api-key", KEY, "--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def write_files(directory: Path) -> tuple[Path, Path, numpy.ndarray, numpy.ndarray]:
    volume = numpy.random.default_rng(0).random((128, 256, 512))  # 128 MiB of float64
    h5_path = directory / "big.h5"
    with h5py.File(h5_path, "w") as file:
        file.create_dataset("data", data=volume, chunks=(16, 256, 512))
    stack = numpy.random.default_rng(1).integers(0, 60000, (512, 256, 512), dtype="uint16")
    tiff_path = directory / "stack.tif"
    tifffile.imwrite(tiff_path, stack)
    return h5_path, tiff_path, volume, stack


def measure(
    name: str,
    url: str,
    path: Path,
    direct: Callable[[], numpy.ndarray],
    expected: numpy.ndarray,
    node: str,
    repeat: int,
) -> list[str]:
    nbytes = expected.nbytes
    drop_cache(path)
    start = time.perf_counter()
    direct()
    cold = nbytes / MB / (time.perf_counter() - start)
    warm, warm_median = rates(nbytes, direct, repeat)
    headers = {"Authorization": f"Apikey {KEY}", "Accept-Encoding": "gzip, deflate, zstd"}
    with httpx.Client(timeout=120, headers=headers) as http:
        full_url = f"{url}/api/v1/array/full/{node}"
        encoding = http.get(full_url).headers.get("content-encoding", "identity")
        raw, raw_median = rates(nbytes, lambda: http.get(full_url).content, repeat)
        block_url = f"{url}/api/v1/array/block/{node}?block={','.join('0' * expected.ndim)}"
        latencies = []
        for _ in range(30):
            start = time.perf_counter()
            http.get(block_url).raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
    client = from_uri(url, api_key=KEY)
    try:
        array = client[node]
        assert numpy.array_equal(array.read(), expected)
        ours, ours_median = rates(nbytes, array.read, repeat)
        first_block = [dim[0] for dim in array.structure().chunks]
    finally:
        client.close()
    block_kib = int(numpy.prod(first_block)) * expected.dtype.itemsize / 1024
    latencies.sort()
    return [
        f"| {name} | {cold:,.0f} | {warm:,.0f} | {raw:,.0f} ({raw / warm:.0%}) | "
        f"{ours:,.0f} ({ours / warm:.0%}) | {encoding} | {block_kib:,.0f} KiB: "
        f"p50 {latencies[15]:.0f} ms, p90 {latencies[27]:.0f} ms |",
        f"| (medians) | | {warm_median:,.0f} | {raw_median:,.0f} | {ours_median:,.0f} | | |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        h5_path, tiff_path, volume, stack = write_files(directory)
        with (
            server(directory) as url,
            httpx.Client(headers={"Authorization": f"Apikey {KEY}"}) as http,
        ):
            for key, mimetype, path in (
                ("h5", "application/x-hdf5", h5_path),
                ("stack", "image/tiff", tiff_path),
            ):
                http.post(
                    f"{url}/api/v1/register/", json=registration_body(key, mimetype, [path])
                ).raise_for_status()

            def read_h5() -> numpy.ndarray:
                with h5py.File(h5_path, "r") as file:
                    return numpy.asarray(file["data"][()])

            rows = measure(
                "HDF5 float64, 128 MiB", url, h5_path, read_h5, volume, "h5/data", args.repeat
            )
            rows += measure(
                "TIFF stack uint16, 128 MiB",
                url,
                tiff_path,
                lambda: tifffile.imread(tiff_path),
                stack,
                "stack",
                args.repeat,
            )
    load = os.getloadavg()[0]
    print(
        f"Machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f}, Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}"
    )
    print(
        "| dataset | direct cold MB/s | direct warm MB/s | raw HTTP MB/s (vs warm) "
        "| our client MB/s (vs warm) | encoding | first block read |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
