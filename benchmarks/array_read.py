"""Full-array read throughput over HTTP, against reading the same file directly.

Writes a 128 MB float64 HDF5 dataset and a 128 MB uint16 TIFF stack, serves them from a
SQLite catalog on a real server, and reports MB/s for: a direct read with h5py/tifffile
(cold: page cache dropped for the file; warm), raw HTTP (httpx, one GET of /array/full),
and our Python client's read(); plus block-read latency. Ratios are against the warm
direct read, measured in the same run.

    python3 benchmarks/array_read.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import httpx
import numpy
import tifffile

from tiled.client import from_uri
from tiled.testing.server import run_server

MB = 1024**2


def drop_cache(path: Path) -> None:
    """Evict the file's pages so the next read comes from disk (best effort)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def best_rate(nbytes: int, func: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return nbytes / MB / min(times), nbytes / MB / statistics.median(times)


def write_files(directory: Path) -> tuple[Path, Path, numpy.ndarray, numpy.ndarray]:
    volume = numpy.random.default_rng(0).random((128, 256, 512))  # 128 MiB of float64
    h5_path = directory / "big.h5"
    with h5py.File(h5_path, "w") as file:
        file.create_dataset("data", data=volume, chunks=(16, 256, 512))
    stack = numpy.random.default_rng(1).integers(0, 60000, (512, 256, 512), dtype="uint16")
    tiff_path = directory / "stack.tif"
    tifffile.imwrite(tiff_path, stack)
    return h5_path, tiff_path, volume, stack


def register(client, key: str, path: Path, mimetype: str) -> None:
    from tiled.adapters.registry import inspect
    from tiled.structures.data_source import Asset, DataSource

    inspection = inspect(mimetype, [path])
    client.new(
        structure_family=inspection.structure_family,
        data_sources=[
            DataSource(
                structure_family=inspection.structure_family,
                structure=inspection.structure,
                mimetype=mimetype,
                assets=[Asset(data_uri=path.as_uri(), is_directory=False, parameter="data_uri")],
            )
        ],
        metadata={},
        specs=[],
        key=key,
    )


def measure(
    name: str,
    url: str,
    client,
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
    warm, warm_median = best_rate(nbytes, direct, repeat)
    headers = {"Authorization": "Apikey bench"}
    with httpx.Client(timeout=120, headers=headers) as http:
        raw_url = f"{url}/api/v1/array/full/{node}"
        raw, raw_median = best_rate(nbytes, lambda: http.get(raw_url).content, repeat)
    array = client[node]
    assert numpy.array_equal(array.read(), expected)
    ours, ours_median = best_rate(nbytes, array.read, repeat)
    latencies = []
    block = ",".join("0" for _ in expected.shape)
    with httpx.Client(timeout=60, headers=headers) as http:
        block_url = f"{url}/api/v1/array/block/{node}?block={block}"
        for _ in range(50):
            start = time.perf_counter()
            http.get(block_url).raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
    first_block = [dim[0] for dim in array.structure().chunks]
    block_bytes = int(numpy.prod(first_block)) * expected.dtype.itemsize
    latencies.sort()
    return [
        f"| {name} | {nbytes / MB:.0f} MB | {cold:,.0f} | {warm:,.0f} | {raw:,.0f} "
        f"({raw / warm:.0%}) | {ours:,.0f} ({ours / warm:.0%}) | "
        f"{block_bytes / MB:.1f} MB: p50 {latencies[25]:.1f} ms, p95 {latencies[47]:.1f} ms |",
        f"|   (medians) | | | {warm_median:,.0f} | {raw_median:,.0f} | {ours_median:,.0f} | |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        h5_path, tiff_path, volume, stack = write_files(directory)
        with run_server(
            str(directory / "catalog.db"), readable=[directory], api_key="bench"
        ) as url:
            client = from_uri(url, api_key="bench")
            register(client, "h5", h5_path, "application/x-hdf5")
            register(client, "stack", tiff_path, "image/tiff")

            def read_h5() -> numpy.ndarray:
                with h5py.File(h5_path, "r") as file:
                    return file["data"][()]

            rows = measure(
                "HDF5 float64", url, client, h5_path, read_h5, volume, "h5/data", args.repeat
            )
            rows += measure(
                "TIFF stack uint16",
                url,
                client,
                tiff_path,
                lambda: tifffile.imread(tiff_path),
                stack,
                "stack",
                args.repeat,
            )
    print(
        f"Machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}"
    )
    print(
        "| dataset | size | direct cold MB/s | direct warm MB/s | raw HTTP MB/s (vs warm) "
        "| our client MB/s (vs warm) | block read latency |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
