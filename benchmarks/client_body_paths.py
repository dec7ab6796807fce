"""Our client's two ways of receiving a large array body, in the same run, against a
direct h5py read and a raw httpx GET of the same 128 MiB float64 HDF5 dataset.

"httpx chunks" is the general path (the body goes through httpcore and h11 in 64 KiB
chunks, each copied several times); "direct" receives a plain HTTP/1.1 body from the
socket straight into the result array (``tiled/client/context.py``). The four reads
alternate, so machine load affects them alike; CPU times are per read, for this process
(the client) and for the server process.

    python3 benchmarks/client_body_paths.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import httpx
import numpy
import psutil
from array_read import KEY, MB, server

import tiled.client.context as context
from tiled.client import from_uri
from tiled.testing.served import registration_body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    general = context._plain_body_socket
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        volume = numpy.random.default_rng(0).random((128, 256, 512))  # 128 MiB
        with h5py.File(directory / "big.h5", "w") as file:
            file.create_dataset("data", data=volume, chunks=(16, 256, 512))
        with server(directory) as url:
            auth = {"Authorization": f"Apikey {KEY}"}
            body = registration_body("h5", "application/x-hdf5", [directory / "big.h5"])
            httpx.post(f"{url}/api/v1/register/", json=body, headers=auth).raise_for_status()
            port = url.rsplit(":", 1)[1]
            (proc,) = [p for p in psutil.Process().children() if port in " ".join(p.cmdline())]
            http = httpx.Client(
                timeout=120, headers={**auth, "Accept-Encoding": "gzip, deflate, zstd"}
            )
            full = f"{url}/api/v1/array/full/h5/data"
            array = from_uri(url, api_key=KEY)["h5"]["data"]

            def direct_h5py() -> object:
                with h5py.File(directory / "big.h5", "r") as file:
                    return file["data"][()]

            def httpx_chunks() -> object:
                context._plain_body_socket = lambda *args: None
                try:
                    return array.read()
                finally:
                    context._plain_body_socket = general

            reads: dict[str, Callable[[], object]] = {
                "direct h5py (warm)": direct_h5py,
                "raw httpx GET": lambda: http.get(full).content,
                "our client, httpx chunks": httpx_chunks,
                "our client, direct": array.read,
            }
            assert numpy.array_equal(httpx_chunks(), volume)
            assert numpy.array_equal(array.read(), volume)
            results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in reads}
            load_before = os.getloadavg()[0]
            for _ in range(args.repeat):
                for name, read in reads.items():
                    server_cpu = sum(proc.cpu_times()[:2])
                    client_cpu = time.process_time()
                    start = time.perf_counter()
                    read()
                    results[name].append(
                        (
                            time.perf_counter() - start,
                            time.process_time() - client_cpu,
                            sum(proc.cpu_times()[:2]) - server_cpu,
                        )
                    )
            load_after = os.getloadavg()[0]
    print(
        f"load average (1 min) {load_before:.1f} before, {load_after:.1f} after, "
        f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print("| read | best MB/s | median MB/s | client CPU ms | server CPU ms |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        walls = [r[0] for r in runs]
        print(
            f"| {name} | {volume.nbytes / MB / min(walls):,.0f} | "
            f"{volume.nbytes / MB / statistics.median(walls):,.0f} | "
            f"{statistics.median(r[1] for r in runs) * 1000:.0f} | "
            f"{statistics.median(r[2] for r in runs) * 1000:.0f} |"
        )


if __name__ == "__main__":
    main()
