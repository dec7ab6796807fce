"""Indexing speed: ``tiled serve directory`` and ``tiled register`` on trees of small files.

For each tree size (reproducible: ``tiled.testing.trees.write_mixed_tree`` with seed 0,
TIFF/NPY/HDF5/CSV/PNG in turn, 100 files a directory), measures in one run:

* reference: the format libraries alone (tifffile, numpy, h5py, pandas, Pillow) reading
  the same headers in a process pool of ``--concurrency`` workers, no database, no HTTP;
* ``serve directory``: seconds to the first HTTP answer, to fully indexed (from the
  command's start), files/s, peak RSS of the server process and of its inspection
  workers, then a restart on the same ``--catalog`` (no change): seconds to indexed;
* ``register`` into a ``serve catalog`` server: seconds to the first node visible over
  HTTP, to the end of the command, files/s, peak RSS of the register process (and its
  workers) and of the server, then a second, no-change run.

    python3 benchmarks/indexing.py --sizes 1000 10000 100000

Trees are kept under ``--trees`` (default ``/tmp/tiled-bench-trees``) to be reused.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from watch import cpu_seconds  # same directory

from tiled.testing.processes import serve_catalog_process
from tiled.testing.server import free_port
from tiled.testing.trees import write_mixed_tree

KEY = "secret"
HEADERS = {"Authorization": f"Apikey {KEY}"}
CLI = [sys.executable, "-m", "tiled.cli.main"]


# -- trees -------------------------------------------------------------------------------


def tree(root: Path, files: int) -> Path:
    directory = root / f"mixed-{files}"
    marker = directory / ".complete"
    if not marker.exists():
        shutil.rmtree(directory, ignore_errors=True)
        started = time.perf_counter()
        write_mixed_tree(directory, files, seed=0)
        marker.write_text(str(files))
        print(f"wrote {files} files in {time.perf_counter() - started:.0f} s", flush=True)
    return directory


def listing(directory: Path) -> list[str]:
    return sorted(
        str(Path(d) / f)
        for d, _, names in os.walk(directory)
        for f in names
        if not f.startswith(".")
    )


# -- reference: the libraries alone ------------------------------------------------------


def _read_headers(paths: list[str]) -> int:
    import h5py
    import numpy
    import pandas
    import tifffile
    from PIL import Image

    for path in paths:
        if path.endswith(".tif"):
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                _ = (page.shape, page.dtype)
        elif path.endswith(".npy"):
            with open(path, "rb") as f:
                major, _ = numpy.lib.format.read_magic(f)
                if major == 1:
                    numpy.lib.format.read_array_header_1_0(f)
                else:
                    numpy.lib.format.read_array_header_2_0(f)
        elif path.endswith(".h5"):
            with h5py.File(path, "r") as f:
                _ = dict(f.attrs)
                f.visititems(lambda name, obj: getattr(obj, "shape", None))
        elif path.endswith(".csv"):
            pandas.read_csv(path)
        elif path.endswith(".png"):
            with Image.open(path) as image:
                _ = (image.size, image.mode)
    return len(paths)


def tree_cpu_seconds(pid: int) -> float:
    """User + sys seconds of a process and its living descendants."""
    return cpu_seconds(psutil.Process(pid))


def reference_rate(paths: list[str], workers: int) -> tuple[float, float]:
    """Files/s of the libraries alone, and their CPU seconds per file (the pool's)."""
    chunks = [paths[i : i + 64] for i in range(0, len(paths), 64)]
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(_read_headers, chunks[:2]))  # workers started and imports done
        before = tree_cpu_seconds(os.getpid()) - _own_cpu()
        started = time.perf_counter()
        done = sum(pool.map(_read_headers, chunks))
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_seconds(os.getpid()) - _own_cpu() - before
        return done / elapsed, cpu / done


def _own_cpu() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


# -- memory sampling ---------------------------------------------------------------------


class PeakRSS:
    """Samples the RSS of a process (and, separately, of its children) every 50 ms, and
    the CPU time (user + sys) of it and of every descendant seen (its last sample each:
    a process that ends between samples loses at most 50 ms)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.children_peak = 0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _cpu(self, process: psutil.Process) -> None:
        times = process.cpu_times()
        self.cpu[process.pid] = times.user + times.system

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
                self._cpu(self.process)
                children = 0
                for child in self.process.children(recursive=True):
                    try:
                        children += child.memory_info().rss
                        self._cpu(child)
                    except psutil.Error:
                        pass
                self.children_peak = max(self.children_peak, children)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20, self.children_peak / 2**20

    @property
    def cpu_seconds(self) -> float:
        """User + sys seconds of the process and all its descendants, as last sampled."""
        return sum(self.cpu.values())


# -- serve directory ---------------------------------------------------------------------


def serve_directory_run(directory: Path, catalog: Path, concurrency: int) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="tiled-serve-", suffix=".log", delete=False)  # noqa: SIM115
    argv = [*CLI, "serve", "directory", "--api-key", KEY, "--catalog", str(catalog)]
    argv += ["--concurrency", str(concurrency), str(directory), "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    memory = PeakRSS(process.pid)
    first_answer = None
    try:
        with httpx.Client(timeout=10) as http:
            while first_answer is None:
                try:
                    if http.get(f"{url}/api/v1/", headers=HEADERS).status_code == 200:
                        first_answer = time.perf_counter() - started
                except httpx.TransportError:
                    if process.poll() is not None:
                        raise RuntimeError(Path(log.name).read_text()) from None
                    time.sleep(0.01)
            while True:
                state = http.get(f"{url}/api/v1/indexing", headers=HEADERS).json()
                if state["done"]:
                    indexed = time.perf_counter() - started
                    break
                time.sleep(0.05)
    finally:
        server_mb, workers_mb = memory.stop()
        cpu = memory.cpu_seconds
        process.terminate()
        process.wait(60)
        log.close()
    if state["phase"] != "idle" or state["errors"]:
        raise RuntimeError(f"indexing failed: {state}\n{Path(log.name).read_text()[-3000:]}")
    os.unlink(log.name)
    return {
        "first_answer_s": first_answer,
        "indexed_s": indexed,
        "sync_s": state["elapsed_seconds"],
        "files": state["files_seen"],
        "inspected": state["inspected"],
        "files_per_s": state["files_seen"] / indexed,
        "sync_files_per_s": state["files_per_second"],
        "server_peak_mb": server_mb,
        "workers_peak_mb": workers_mb,
        "cpu_ms_per_file": 1000 * cpu / state["files_seen"],
    }


# -- register ----------------------------------------------------------------------------


def register_run(url: str, directory: Path, concurrency: int, server_pid: int) -> dict[str, float]:
    server_cpu = tree_cpu_seconds(server_pid)
    argv = [*CLI, "register", url, "--api-key", KEY, str(directory)]
    argv += ["--concurrency", str(concurrency)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakRSS(process.pid)
    first_node = None
    with httpx.Client(timeout=10) as http:
        while process.poll() is None and first_node is None:
            response = http.get(f"{url}/api/v1/search/", headers=HEADERS, params={"page[limit]": 1})
            if response.status_code == 200 and response.json()["data"]:
                first_node = time.perf_counter() - started
            else:
                time.sleep(0.02)
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    register_mb, workers_mb = memory.stop()
    server_cpu = tree_cpu_seconds(server_pid) - server_cpu
    if process.returncode != 0:
        raise RuntimeError(f"register failed ({process.returncode}):\n{stderr[-3000:]}")
    summary = stderr.strip().splitlines()
    return {
        "first_node_s": first_node if first_node is not None else elapsed,
        "done_s": elapsed,
        "register_peak_mb": register_mb,
        "workers_peak_mb": workers_mb,
        "register_cpu_s": memory.cpu_seconds,
        "server_cpu_s": server_cpu,
        "summary": next((line for line in summary if line.startswith("Registered")), ""),
    }


def register_benchmark(directory: Path, files: int, concurrency: int) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="tiled-bench-register-"))
    try:
        catalog = workdir / "catalog.db"
        args = [str(catalog), "--init", "--api-key", KEY, "-r", str(directory)]
        with serve_catalog_process(args) as server:
            memory = PeakRSS(server.process.pid)
            pid = server.process.pid
            first = register_run(server.url, directory, concurrency, pid)
            server_mb, _ = memory.stop()
            second = register_run(server.url, directory, concurrency, pid)
        first["files_per_s"] = files / first["done_s"]  # type: ignore[operator]
        first["server_peak_mb"] = server_mb
        cpu = first["register_cpu_s"] + first["server_cpu_s"]  # type: ignore[operator]
        first["cpu_ms_per_file"] = 1000 * cpu / files
        return {"first": first, "second": second}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def serve_benchmark(directory: Path, concurrency: int) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="tiled-bench-serve-"))
    try:
        catalog = workdir / "catalog.db"
        first = serve_directory_run(directory, catalog, concurrency)
        second = serve_directory_run(directory, catalog, concurrency)
        return {"first": first, "second": second}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def compile_package() -> None:
    """Byte-compile tiled as an install does: with PYTHONDONTWRITEBYTECODE set (as on the
    CI machine) every command would otherwise compile our sources again at start-up
    (~0.13 s of CPU), which no installed copy does."""
    import compileall

    import tiled

    package = Path(tiled.__file__).parent
    compileall.compile_dir(package, quiet=1)
    print(f"# byte-compiled {package} (as pip install does)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--trees", type=Path, default=Path("/tmp/tiled-bench-trees"))
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", choices=["serve", "register"], default=None)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here")
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"# {platform.node()} {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    compile_package()
    results = {}
    for files in args.sizes:
        directory = tree(args.trees, files)
        paths = listing(directory)
        reference, reference_cpu = reference_rate(paths, args.concurrency)
        row: dict[str, object] = {
            "files": len(paths),
            "reference_files_per_s": reference,
            "reference_cpu_ms_per_file": 1000 * reference_cpu,
        }
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"\n## {len(paths)} files: reference {reference:.0f} files/s, "
            f"{1000 * reference_cpu:.3f} ms CPU a file (load average {load})",
            flush=True,
        )
        if args.only in (None, "serve"):
            row["serve"] = serve = serve_benchmark(directory, args.concurrency)
            f, s = serve["first"], serve["second"]  # type: ignore[index]
            print(
                f"serve directory: first answer {f['first_answer_s']:.2f} s, indexed "
                f"{f['indexed_s']:.1f} s, {f['files_per_s']:.0f} files/s "
                f"({f['files_per_s'] / reference:.0%} of reference; sync alone "
                f"{f['sync_files_per_s']:.0f} files/s), server peak {f['server_peak_mb']:.0f} MB"
                f" + workers {f['workers_peak_mb']:.0f} MB; CPU (all processes) "
                f"{f['cpu_ms_per_file']:.3f} ms a file; no-change restart: indexed "
                f"{s['indexed_s']:.1f} s (sync {s['sync_s']:.1f} s, {s['inspected']} opened)",
                flush=True,
            )
        if args.only in (None, "register"):
            row["register"] = reg = register_benchmark(directory, len(paths), args.concurrency)
            f, s = reg["first"], reg["second"]  # type: ignore[index]
            print(
                f"register: first node {f['first_node_s']:.2f} s, done {f['done_s']:.1f} s, "
                f"{f['files_per_s']:.0f} files/s ({f['files_per_s'] / reference:.0%} of "
                f"reference), register peak {f['register_peak_mb']:.0f} MB + workers "
                f"{f['workers_peak_mb']:.0f} MB, server peak {f['server_peak_mb']:.0f} MB; CPU "
                f"{f['cpu_ms_per_file']:.3f} ms a file (register {f['register_cpu_s']:.1f} s"
                f" + server {f['server_cpu_s']:.1f} s); "
                f"no-change run {s['done_s']:.1f} s ({s['summary']})",
                flush=True,
            )
        results[files] = row
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
