"""How fast ``tiled serve directory --watch`` makes a change visible, and what one change
costs, on trees of 1,000 and 100,000 small mixed files.

For each tree (generated once with ``tiled.testing.trees.write_mixed_tree`` and cached
under ``--cache``), a real ``serve directory --watch`` subprocess indexes it; then:

* latency: a new file is written (and, separately, an existing one rewritten with a new
  shape) and ``GET /api/v1/metadata/...`` is polled every 20 ms until it shows the change:
  seconds from the end of the write to visibility. Target: settle + < 0.5 s.
* cost: CPU seconds (user + system) of the server process and its worker processes
  (psutil) for one new file, from its write until the change has been handled, minus
  the idle rate measured just before (mean of ``--changes`` runs; the operating system
  counts CPU time in 10 ms ticks). Target: the 100,000-file tree < 2x the 1,000-file tree.
* the watcher's stat-only pass over the whole tree (done once at start and every
  ``--reconcile`` seconds), from the server's log.

The catalog of each tree is kept next to it after its first run, so later runs start
like a restart with ``--catalog``: a no-change re-sync, then watching.

    python3 benchmarks/watch.py [--sizes 1000 100000] [--settle 2] [--changes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy
import psutil

WORKTREE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKTREE))

from tiled.testing.server import free_port  # noqa: E402
from tiled.testing.trees import write_mixed_tree  # noqa: E402

KEY = "secret"
HEADERS = {"Authorization": f"Apikey {KEY}"}


def tree(cache: Path, size: int) -> Path:
    """The cached tree of ``size`` files (written once, reproducibly)."""
    root = cache / f"tree-{size}"
    if not (root / "complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        started = time.monotonic()
        write_mixed_tree(root / "data", size)
        (root / "complete").touch()
        print(f"  wrote {size:,} files in {time.monotonic() - started:.0f} s", flush=True)
    scratch = root / "data" / "d000" / "s0"
    for path in scratch.glob("bench*"):
        path.unlink()
    return root / "data"


def cpu_seconds(process: psutil.Process) -> float:
    """User + sys seconds of a process and its living descendants."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class Served:
    def __init__(self, data: Path, settle: float, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "server.log"
        argv = [sys.executable, "-m", "tiled.cli.main", "serve", "directory", str(data)]
        argv += ["--watch", "--settle", str(settle), "--api-key", KEY, "--port", str(self.port)]
        argv += ["--catalog", str(workdir / "catalog.db"), "--concurrency", "2"]
        env = {**os.environ, "PYTHONPATH": str(WORKTREE)}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.ps = psutil.Process(self.process.pid)
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}/api/v1", headers=HEADERS, timeout=60
        )

    def wait(self, what: str, condition, timeout: float = 3600) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if condition():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def shape(self, path: str) -> list[int] | None:
        response = self.http.get(f"/metadata/{path}")
        if response.status_code != 200:
            return None
        return response.json()["data"]["attributes"]["structure"]["shape"]

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def idle_rate(served: Served, seconds: float = 5.0) -> float:
    before, started = cpu_seconds(served.ps), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(served.ps) - before) / (time.monotonic() - started)


def wait_quiet(served: Served, limit: float = 0.05, window: float = 2.0) -> None:
    """Until the server (and workers) use less than ``limit`` CPU-seconds per second."""
    while idle_rate(served, window) > limit:
        pass


def latency(served: Served, data: Path, name: str, shape: tuple[int, ...]) -> float:
    path = data / "d000" / "s0" / f"{name}.npy"
    numpy.save(path, numpy.zeros(shape, "uint16"))
    written = time.monotonic()
    key = f"d000/s0/{name}"
    while served.shape(key) != list(shape):
        if time.monotonic() - written > 120:
            raise RuntimeError(f"{key} did not appear")
        time.sleep(0.02)
    return time.monotonic() - written


def cost(served: Served, data: Path, name: str, settle: float, rate: float) -> float:
    before, started = cpu_seconds(served.ps), time.monotonic()
    numpy.save(data / "d000" / "s0" / f"{name}.npy", numpy.zeros((3, 3), "uint16"))
    time.sleep(settle + 3.0)  # no polling meanwhile: only the watcher's own work counts
    spent = cpu_seconds(served.ps) - before - rate * (time.monotonic() - started)
    if served.shape(f"d000/s0/{name}") != [3, 3]:
        raise RuntimeError(f"{name} did not appear within settle + 3 s")
    return max(spent, 0.0)


def measure(size: int, cache: Path, settle: float, changes: int) -> dict[str, object]:
    print(f"{size:,} files", flush=True)
    data = tree(cache, size)
    workdir = Path(tempfile.mkdtemp(prefix="tiled-bench-watch-"))
    seed = data.parent / "catalog.db"  # a catalog of the tree kept from an earlier run
    kept = seed.exists()
    if kept:
        shutil.copy(seed, workdir / "catalog.db")  # a restart: a no-change re-sync
    served = Served(data, settle, workdir)
    try:
        started = time.monotonic()
        served.wait("indexing", lambda: served.http.get("/indexing").json()["done"])
        indexed = time.monotonic() - started
        wait_quiet(served)  # the watcher's first stat-only pass is done too
        primed = time.monotonic() - started
        print(f"  indexed in {indexed:.1f} s, quiet after {primed:.1f} s", flush=True)
        new = [latency(served, data, f"bench{k}_new", (4, 4)) for k in range(changes)]
        modified = [latency(served, data, "bench0_new", (5 + k, 5)) for k in range(changes)]
        wait_quiet(served)
        rate = idle_rate(served)
        cpu = [cost(served, data, f"bench{k}_cpu", settle, rate) for k in range(changes)]
        memory = sum(p.memory_info().rss for p in [served.ps, *served.ps.children(True)])
        passes = re.findall(r"Watch: reconciled .* in ([0-9.]+) s", served.log.read_text())
    finally:
        served.stop()
        for path in (data / "d000" / "s0").glob("bench*"):
            path.unlink()
        if not seed.exists() and (workdir / "catalog.db").exists():
            shutil.copy(workdir / "catalog.db", seed)  # stale bench* nodes go at next sync
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "files": size,
        "settle": settle,
        "initial_sync_s": round(indexed, 1),
        "catalog_kept": kept,
        "latency_new_median_s": round(statistics.median(new), 3),
        "latency_new_max_s": round(max(new), 3),
        "latency_modified_median_s": round(statistics.median(modified), 3),
        "latency_modified_max_s": round(max(modified), 3),
        "cpu_per_change_mean_s": round(statistics.mean(cpu), 4),
        "cpu_per_change_max_s": round(max(cpu), 3),
        "stat_only_pass_s": float(passes[0]) if passes else None,
        "idle_cpu_per_s": round(rate, 4),
        "rss_mib": round(memory / 2**20),
    }
    print("  " + json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tiled-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results = [measure(size, args.cache, args.settle, args.changes) for size in args.sizes]
    print(
        "\n| files | latency new (median / max) | latency modified | CPU s per change (mean) "
        "| stat-only pass |"
    )
    print("|---:|---|---|---|---|")
    for r in results:
        print(
            f"| {r['files']:,} | {r['latency_new_median_s']} / {r['latency_new_max_s']} s "
            f"| {r['latency_modified_median_s']} / {r['latency_modified_max_s']} s "
            f"| {r['cpu_per_change_mean_s']} (max {r['cpu_per_change_max_s']}) "
            f"| {r['stat_only_pass_s']} s |"
        )
    settle = args.settle
    for r in results:
        ok = r["latency_new_median_s"] < settle + 0.5
        print(f"{'PASS' if ok else 'FAIL'}: {r['files']:,} files visible within settle + 0.5 s")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = large["cpu_per_change_mean_s"] / max(small["cpu_per_change_mean_s"], 1e-3)
        print(
            f"{'PASS' if ratio < 2 else 'FAIL'}: CPU per change {large['files']:,} / "
            f"{small['files']:,} files = {ratio:.2f} (target < 2)"
        )


if __name__ == "__main__":
    main()
