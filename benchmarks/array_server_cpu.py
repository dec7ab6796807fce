"""Server CPU per array read (user + system time of the server process), which a shared
machine's load barely affects, unlike wall-clock throughput.

Reads, through our Python client, the two datasets of ``array_read.py`` (a 128 MiB
float64 HDF5 dataset and a 128 MiB uint16 TIFF stack) in full, and one 1 MiB block of a
64-frame float32 TIFF sequence with a plain GET of ``/array/block``.

    python3 benchmarks/array_server_cpu.py [--repeat 10] [--profile]

``--profile`` also samples the server with py-spy during the reads (one flat profile per
case, printed at the end).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy
import psutil
import tifffile
from array_read import KEY, server, write_files

from tiled.client import from_uri
from tiled.testing.served import registration_body

NATIVE = os.environ.get("PYSPY_NATIVE", "").split()
"""Extra py-spy options, e.g. ``PYSPY_NATIVE=--native`` (then py-spy pauses the server)."""


def _server_process(url: str) -> psutil.Process:
    port = url.rsplit(":", 1)[1]
    (proc,) = [p for p in psutil.Process().children() if port in " ".join(p.cmdline())]
    return proc


def cpu_per_call(
    proc: psutil.Process, func: Callable[[], object], repeat: int
) -> tuple[list[float], float]:
    """Server CPU milliseconds of each of ``repeat`` calls, and the system share of it."""
    costs = []
    system = 0.0
    for _ in range(repeat):
        before = proc.cpu_times()
        func()
        after = proc.cpu_times()
        costs.append((after.user + after.system - before.user - before.system) * 1000)
        system += (after.system - before.system) * 1000
    return costs, system / max(sum(costs), 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        h5_path, tiff_path, volume, stack = write_files(directory)
        frames = numpy.random.default_rng(2).random((64, 512, 512)).astype("float32")
        (directory / "seq").mkdir()
        frame_paths = []
        for i, frame in enumerate(frames):
            frame_paths.append(directory / "seq" / f"frame_{i:03}.tif")
            tifffile.imwrite(frame_paths[-1], frame)
        with server(directory) as url:
            auth = {"Authorization": f"Apikey {KEY}"}
            http = httpx.Client(
                timeout=120, headers={**auth, "Accept-Encoding": "gzip, deflate, zstd"}
            )
            for key, mimetype, paths in (
                ("h5", "application/x-hdf5", [h5_path]),
                ("stack", "image/tiff", [tiff_path]),
                ("seq", "multipart/related;type=image/tiff", frame_paths),
            ):
                body = registration_body(key, mimetype, paths)
                http.post(f"{url}/api/v1/register/", json=body).raise_for_status()
            proc = _server_process(url)
            client = from_uri(url, api_key=KEY)
            h5, tiff = client["h5"]["data"], client["stack"]
            assert numpy.array_equal(h5.read(), volume)
            assert numpy.array_equal(tiff.read(), stack)
            block_url = f"{url}/api/v1/array/block/seq?block=5,0,0"
            block = http.get(block_url)
            assert block.content == frames[5].tobytes(), "wrong block bytes"
            cases: dict[str, Callable[[], object]] = {
                "HDF5 float64 128 MiB, client read()": h5.read,
                "TIFF stack uint16 128 MiB, client read()": tiff.read,
                "TIFF sequence 1 MiB block, GET": lambda: http.get(block_url).content,
            }
            load = os.getloadavg()[0]
            print(f"load average {load:.1f}; server CPU ms per read (mean, median; 10 ms ticks):")
            for name, func in cases.items():
                repeat = args.repeat * (20 if "block" in name else 1)
                spy = None
                if args.profile:
                    out = directory / f"profile-{len(name)}.txt"
                    spy = subprocess.Popen(
                        ["py-spy", "record", "-p", str(proc.pid), "-f", "raw", "-r", "500",
                         "-o", str(out), *(NATIVE or ["--nonblocking"])],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    time.sleep(1)
                costs, system = cpu_per_call(proc, func, repeat)
                mean, median = statistics.mean(costs), statistics.median(costs)
                print(f"  {name}: {mean:.1f} ms, {median:.1f} ms ({system:.0%} system)")
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(timeout=30)
                    _print_profile(out)
            client.close()
            http.close()


def _print_profile(path: Path, top: int = 150) -> None:
    """Self time (leaf frames) and total time (anywhere on the stack) per function of a
    py-spy raw profile."""
    if not path.exists():
        print("    (no profile)")
        return
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + int(count)
        for frame in {re.sub(r":\d+\)$", ")", frame) for frame in frames}:
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
        total += int(count)
    for title, table in (("self", self_time), ("total", inclusive)):
        print(f"    -- {title}")
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {count / total:6.1%} {frame}")


if __name__ == "__main__":
    main()
