"""Load test: 16 concurrent clients against our server (1 and 2 workers) and the original.

One command, one summary:

    python3 benchmarks/load.py                      # full run (about 9 minutes)
    python3 benchmarks/load.py --quick              # a smoke run (about 2 minutes)
    python3 benchmarks/load.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
                                                    # ours on PostgreSQL as well

What it does, all on loopback:
1. writes a sequence of 64 float32 TIFF frames of 512 x 512 (1 MiB blocks) and 200 small
   TIFF files, in a temporary directory;
2. installs the ORIGINAL tiled (``tiled[server]==0.2.20`` by default) from PyPI into a venv
   under ``~/.cache/tiled-bench`` (once; reused afterwards) unless ``--skip-original``;
3. for each server (ours with 1 worker, ours with 2 workers, the original), starts
   ``tiled serve catalog`` as a subprocess, registers the same files over HTTP with the
   same request bodies, and drives it with a bounded asyncio load (16 keep-alive
   connections, each sending its next request when the last response is read): for each of
   the metadata, search and 1 MB block workloads in turn, then (ours only) the mixed
   workload for ``--duration`` seconds while sampling the server's memory;
4. prints requests per second, latency percentiles and errors, our rates as multiples of
   the original's measured in the same run, and whether memory stayed flat.

The load generator shares the machine's cores with the server: figures are lower bounds
of what the server does with cores of its own. So the driver must be cheap: by default it
is the minimal HTTP/1.1 client of ``benchmarks/rawhttp.py`` (same requests and headers as
httpx sends; checks the status, reads every body in full by Content-Length, no decoding),
about 0.17 ms of CPU per metadata request and 0.9 ms per 1 MiB block, where httpx (still
available, ``--driver httpx``) took 2-3 ms and 3.5-5 ms, as much as the server it drove.
The same driver is used for every server; the table shows its CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy
import psutil
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rawhttp

from tiled.testing.processes import serve_catalog_process

API_KEY = "benchmarkkey0123456789"  # the original accepts alphanumerics only
AUTH = {"Authorization": f"Apikey {API_KEY}"}
FRAMES = 64
FRAME_SHAPE = (512, 512)  # float32: 1 MiB per block
SMALL_NODES = 200
GROUPS = 10
CACHE = Path(os.environ.get("TILED_BENCH_CACHE", Path.home() / ".cache" / "tiled-bench"))


# -- data and registration ------------------------------------------------------------


def write_files(directory: Path) -> None:
    rng = numpy.random.default_rng(0)
    frames = directory / "frames"
    frames.mkdir()
    for i in range(FRAMES):
        tifffile.imwrite(frames / f"f{i:03d}.tiff", rng.random(FRAME_SHAPE, dtype="float32"))
    small = directory / "small"
    small.mkdir()
    for i in range(SMALL_NODES):
        tifffile.imwrite(small / f"s{i:03d}.tiff", numpy.full((8, 8), i, dtype="uint16"))


def _tiff_source(mimetype: str, assets: list[dict], dtype: dict, shape, chunks) -> dict:
    return {
        "structure_family": "array",
        "mimetype": mimetype,
        "structure": {"data_type": dtype, "shape": shape, "chunks": chunks, "dims": None,
                      "resizable": False},
        "parameters": {}, "properties": {}, "management": "external", "assets": assets,
    }  # fmt: skip


def registration_bodies(directory: Path) -> list[dict]:
    """The same bodies for every server (what the official client sends)."""
    f4 = {"endianness": "little", "kind": "f", "itemsize": 4, "dt_units": None}
    u2 = {"endianness": "little", "kind": "u", "itemsize": 2, "dt_units": None}
    frames = sorted((directory / "frames").iterdir())
    assets = [{"data_uri": p.as_uri(), "is_directory": False, "parameter": "data_uri", "num": i}
              for i, p in enumerate(frames)]  # fmt: skip
    sequence = {
        "id": "seq", "structure_family": "array", "metadata": {"kind": "frames"}, "specs": [],
        "data_sources": [_tiff_source("multipart/related;type=image/tiff", assets, f4,
                                      [FRAMES, *FRAME_SHAPE],
                                      [[1] * FRAMES, [FRAME_SHAPE[0]], [FRAME_SHAPE[1]]])],
    }  # fmt: skip
    bodies = [sequence]
    for i, path in enumerate(sorted((directory / "small").iterdir())):
        asset = [{"data_uri": path.as_uri(), "is_directory": False, "parameter": "data_uri",
                  "num": None}]  # fmt: skip
        bodies.append({
            "id": f"n{i:03d}", "structure_family": "array", "specs": [],
            "metadata": {"group": i % GROUPS, "sample": f"s{i}", "temperature": 20 + i / 10},
            "data_sources": [_tiff_source("image/tiff", asset, u2, [8, 8], [[8], [8]])],
        })  # fmt: skip
    return bodies


def register_all(url: str, bodies: list[dict]) -> None:
    with httpx.Client(base_url=f"{url}/api/v1", headers=AUTH, timeout=60) as http:
        for body in bodies:
            response = http.post("/register/", json=body)
            if response.status_code != 200:
                raise RuntimeError(f"Registering {body['id']} failed: {response.text[:500]}")


# -- the load -------------------------------------------------------------------------


def request_for(workload: str, rng: random.Random) -> tuple[str, dict, dict]:
    if workload == "mixed":
        workload = rng.choice(["metadata", "metadata", "search", "block"])
    if workload == "metadata":
        return f"/metadata/n{rng.randrange(SMALL_NODES):03d}", {}, {}
    if workload == "search":
        params = {"filter[eq][condition][key]": "group",
                  "filter[eq][condition][value]": str(rng.randrange(GROUPS)),
                  "page[limit]": "10"}  # fmt: skip
        return "/search/", params, {}
    block = f"{rng.randrange(FRAMES)},0,0"
    return "/array/block/seq", {"block": block}, {"Accept": "application/octet-stream"}


@dataclass
class Result:
    server: str
    workload: str
    seconds: float
    requests: int = 0
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    memory_mb: list[float] = field(default_factory=list, repr=False)
    server_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / max(self.requests, 1)

    @property
    def driver_cpu_ms_per_request(self) -> float:
        return self.driver_cpu_s * 1000 / max(self.requests, 1)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(
    url: str, workload: str, clients: int, seconds: float, result: Result, driver: str = "raw"
) -> None:
    """``clients`` concurrent loops, each with its own keep-alive connection, each sending
    its next request as soon as the previous response has been read in full."""
    deadline = time.monotonic() + seconds

    async def client(seed: int, get) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            path, params, headers = request_for(workload, rng)
            started = time.perf_counter()
            try:
                status, text = await get(path, params, headers)
                ok = status == 200
                problem = "" if ok else f"{status} {path}: {text()[:120]}"
            except (httpx.HTTPError, rawhttp.HTTPError) as err:
                ok, problem = False, f"{type(err).__name__} {path}: {err}"[:200]
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            if not ok:
                result.errors += 1
                if len(result.error_examples) < 5:
                    result.error_examples.append(problem)

    if driver == "raw":
        connections = [rawhttp.Connection(f"{url}/api/v1", AUTH) for _ in range(clients)]

        def getter(connection: rawhttp.Connection):
            async def get(path, params, headers):
                reply = await connection.get(path, params, headers)
                return reply.status, lambda: reply.text

            return get

        try:
            await asyncio.gather(*(client(i, getter(c)) for i, c in enumerate(connections)))
        finally:
            for connection in connections:
                await connection.close()
        return
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1", headers=AUTH, timeout=30, limits=limits
    ) as http:

        async def get(path, params, headers):
            response = await http.get(path, params=params, headers=headers)
            return response.status_code, lambda: response.text

        await asyncio.gather(*(client(seed, get) for seed in range(clients)))


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the server and its workers so far."""
    try:
        process = psutil.Process(pid)
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0.0
    for member in members:
        try:
            times = member.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree_rss_mb(pid: int) -> float:
    try:
        process = psutil.Process(pid)
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1024**2


def run_workload(name, url, pid, workload, clients, seconds, driver="raw") -> Result:
    result = Result(name, workload, seconds)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            result.memory_mb.append(tree_rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu_before, driver_before = tree_cpu_seconds(pid), time.process_time()
    asyncio.run(drive(url, workload, clients, seconds, result, driver))
    result.driver_cpu_s = time.process_time() - driver_before
    result.server_cpu_s = tree_cpu_seconds(pid) - cpu_before
    stop.set()
    sampler.join()
    return result


def warm_up(url: str, driver: str = "raw") -> None:
    asyncio.run(drive(url, "mixed", 4, 2.0, Result("warm-up", "mixed", 2.0), driver))


# -- servers --------------------------------------------------------------------------


@contextmanager
def postgres_database(admin_uri: str) -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server of ``admin_uri``; dropped after."""
    from sqlalchemy.engine import make_url

    from tiled.testing.databases import _execute

    name = f"tiled_load_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(admin_uri, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_uri).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_execute(admin_uri, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def original_command(version: str) -> list[str]:
    """``tiled`` of the original project, installed once into a cached venv."""
    venv = CACHE / f"venv-{version}"
    tiled = venv / "bin" / "tiled"
    if not tiled.exists():
        print(f"Installing tiled[server]=={version} into {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
             f"tiled[server]=={version}"],
            check=True,
        )  # fmt: skip
    return [str(tiled)]


def measure_server(
    name, args, command, bodies, workloads, clients, phase, duration, env=None, driver="raw"
):
    results = []
    with serve_catalog_process(args, command=command, env=env) as server:
        register_all(server.url, bodies)
        warm_up(server.url, driver)
        for workload in workloads:
            seconds = duration if workload == "mixed" else phase
            print(f"  {name}: {workload} for {seconds:g} s ...", flush=True)
            results.append(
                run_workload(
                    name, server.url, server.process.pid, workload, clients, seconds, driver
                )
            )
        if server.process.poll() is not None:
            raise RuntimeError(f"{name} exited during the run:\n{server.output()[-3000:]}")
    return results


# -- report ---------------------------------------------------------------------------


def memory_verdict(samples: list[float]) -> tuple[float, float, bool]:
    """Median RSS of the first and last fifth after a 5 s warm-up; flat if within 10 %."""
    steady = samples[5:] if len(samples) > 10 else samples
    if len(steady) < 5:
        return float("nan"), float("nan"), False
    fifth = max(1, len(steady) // 5)
    first, last = statistics.median(steady[:fifth]), statistics.median(steady[-fifth:])
    return first, last, last <= first * 1.10 + 5


def report(results: list[Result], args: argparse.Namespace) -> dict:
    lines = [f"{'server':<18}{'workload':<10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
             f"{'p99 ms':>9}{'errors':>8}{'cpu ms/req':>12}{'driver ms/req':>15}"]  # fmt: skip
    for r in results:
        lines.append(f"{r.server:<18}{r.workload:<10}{r.rate:>9.1f}{r.percentile(0.5):>9.1f}"
                     f"{r.percentile(0.95):>9.1f}{r.percentile(0.99):>9.1f}{r.errors:>8}"
                     f"{r.cpu_ms_per_request:>12.2f}"
                     f"{r.driver_cpu_ms_per_request:>15.2f}")  # fmt: skip
    by = {(r.server, r.workload): r for r in results}
    ratios = {}
    for server in sorted({r.server for r in results} - {"original"}):
        for workload in ("metadata", "search", "block"):
            ours, original = by.get((server, workload)), by.get(("original", workload))
            if ours and original and original.rate > 0:
                ratios[f"{server}/{workload}"] = ours.rate / original.rate
                ratios[f"{server}/{workload}/cpu"] = (
                    original.cpu_ms_per_request / ours.cpu_ms_per_request
                )
    lines.append("")
    for key, ratio in ratios.items():
        what = "less server CPU per request" if key.endswith("/cpu") else "the original's req/s"
        lines.append(f"ratio {key:<32} {ratio:6.1f}x {what}")
    memory = {}
    for r in results:
        if r.workload == "mixed":
            first, last, flat = memory_verdict(r.memory_mb)
            memory[r.server] = {"first_mb": first, "last_mb": last, "flat": flat}
            lines.append(f"memory {r.server:<18} {first:7.1f} MB -> {last:7.1f} MB over "
                         f"{r.seconds:g} s: {'flat' if flat else 'GROWING'}")  # fmt: skip
    lines.append("")
    lines += targets(by, ratios)
    for r in results:
        for example in r.error_examples:
            lines.append(f"error {r.server}/{r.workload}: {example}")
    print("\n".join(lines))
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load": f"{args.clients} clients ({args.driver} driver); {args.phase:g} s per "
        f"workload; mixed {args.duration:g} s",
        "load_average": os.getloadavg(),
        "results": [
            {k: v for k, v in asdict(r).items() if k not in ("latencies_ms", "memory_mb")}
            | {
                "rate": r.rate,
                "p50_ms": r.percentile(0.5),
                "p95_ms": r.percentile(0.95),
                "cpu_ms_per_request": r.cpu_ms_per_request,
                "driver_cpu_ms_per_request": r.driver_cpu_ms_per_request,
            }
            for r in results
        ],
        "ratios": ratios,
        "memory": memory,
    }


def targets(by: dict, ratios: dict) -> list[str]:
    """Issue 8's targets, for each of our configurations (one worker per core is the
    deployment on this machine; one worker shows what a single process does)."""
    checks = []
    for server, label in (("ours-1-worker", "1 worker"), ("ours-2-workers", "2 workers")):
        metadata = ratios.get(f"{server}/metadata")
        block = ratios.get(f"{server}/block")
        if metadata is not None:
            checks.append((f"metadata >= 20x the original ({label})", metadata >= 20))
        if block is not None:
            checks.append((f"1 MB blocks >= 5x the original ({label})", block >= 5))
    for server in sorted({server for server, _ in by} - {"original"}):
        for workload in ("metadata", "search", "block", "mixed"):
            r = by.get((server, workload))
            if r is not None:
                checks.append((f"{server} {workload}: p50 < 50 ms", r.percentile(0.5) < 50))
        mixed = by.get((server, "mixed"))
        if mixed is not None:
            checks.append((f"{server} mixed: zero errors", mixed.errors == 0))
            checks.append((f"{server} mixed: flat memory", memory_verdict(mixed.memory_mb)[2]))
    return [f"[{'PASS' if ok else 'FAIL'}] {label}" for label, ok in checks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60, help="mixed workload, seconds")
    parser.add_argument("--phase", type=float, default=15, help="each single workload, seconds")
    parser.add_argument("--quick", action="store_true", help="5 s phases, 15 s mixed")
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument("--original-version", default="0.2.20")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="ADMIN_URI",
        help="also measure ours on PostgreSQL (a fresh database per run is created there), "
        "e.g. postgresql://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument(
        "--driver",
        choices=("raw", "httpx"),
        default="raw",
        help="the load's HTTP client: raw (benchmarks/rawhttp.py, cheap) or httpx",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.phase, args.duration = 5.0, 15.0
    workloads = ["metadata", "search", "block"]
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tiled-load-")))
        write_files(directory)
        bodies = registration_bodies(directory)
        results = []
        if not args.skip_original:
            command = original_command(args.original_version)
            server_args = ["--temp", "--api-key", API_KEY, "-r", str(directory)]
            # Our PYTHONPATH would shadow the original's package.
            results += measure_server("original", server_args, command, bodies, workloads,
                                      args.clients, args.phase, args.duration,
                                      env={"PYTHONPATH": None}, driver=args.driver)  # fmt: skip
        ours = [sys.executable, "-m", "tiled.cli.main"]
        catalogs = [("", lambda workers: str(directory / f"catalog-{workers}.db"))]
        if args.postgres:
            catalogs.append(
                ("-pg", lambda workers: stack.enter_context(postgres_database(args.postgres)))
            )
        for suffix, catalog_for in catalogs:
            for workers in (1, 2):
                name = f"ours-{workers}-worker{'s' if workers > 1 else ''}{suffix}"
                server_args = [catalog_for(workers), "--init", "-r", str(directory),
                               "--api-key", API_KEY, "--workers", str(workers)]  # fmt: skip
                results += measure_server(name, server_args, ours, bodies,
                                          [*workloads, "mixed"], args.clients, args.phase,
                                          args.duration, driver=args.driver)  # fmt: skip
    summary = report(results, args)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
