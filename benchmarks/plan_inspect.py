"""Files per second of the file-system half of indexing, against the format libraries alone.

Writes N small mixed files (TIFF, NPY, HDF5, CSV, PNG in turn; reproducible from --seed;
``tiled.testing.trees.write_mixed_tree``) and measures, in the same run:

* **walk+plan**: ``walk()`` over the tree (one scandir per directory, stat per file);
* **inspect**: ``Inspector.stream(walk(...))``, i.e. planning and header inspection end to
  end, producing registrable NodeEntry values (no database, no HTTP);
* **reference**: a bare ProcessPoolExecutor (same start method, same number of workers,
  16 files per task) over the same files, calling tifffile / numpy / h5py / pandas / PIL
  directly to read what registration needs (shape, dtype, keys, attributes, tags).

Files are dated an hour back (a tree at rest) unless ``--fresh``: files modified in the
last few seconds are also checked for completeness, which costs a second open.
Each pool is measured cold (including its start-up) and warm (a second pass on the same
pool), so start-up and steady rate can be told apart. Ratios are inspect / reference.
Last, the CPU time per file of both in this process, one file after another, which a
machine loaded by other work disturbs much less than the wall-clock rates.

    python3 benchmarks/plan_inspect.py [-n 10000] [--concurrency 2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tiled.registration.inspect import Inspector, _context
from tiled.registration.model import NodeEntry, Planned, Skipped
from tiled.registration.plan import PlanOptions, walk
from tiled.testing.trees import write_mixed_tree

CHUNK = 16


def read_header(path: str) -> object:
    """What the format library alone reads to describe one file (the reference)."""
    if path.endswith(".tif"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            tags = {tag.name: tag.value for tag in tif.pages.first.tags.values()}
            return series.shape, str(series.dtype), len(tags)
    if path.endswith(".npy"):
        import numpy.lib.format as npy_format

        with open(path, "rb") as file:
            npy_format.read_magic(file)
            return npy_format.read_array_header_1_0(file)
    if path.endswith(".h5"):
        import h5py

        with h5py.File(path, "r") as file:
            return list(file.keys()), dict(file.attrs)
    if path.endswith(".csv"):
        import pandas

        frame = pandas.read_csv(path)
        return list(frame.columns), [str(t) for t in frame.dtypes], len(frame)
    if path.endswith(".png"):
        from PIL import Image

        with Image.open(path) as image:
            return image.size, image.mode
    raise ValueError(path)


def read_headers(paths: list[str]) -> int:
    for path in paths:
        read_header(path)
    return len(paths)


def reference_pass(pool: concurrent.futures.Executor, paths: list[str]) -> float:
    start = time.perf_counter()
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    assert sum(pool.map(read_headers, chunks)) == len(paths)
    return time.perf_counter() - start


def reference(paths: list[str], concurrency: int) -> tuple[float, float]:
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(concurrency, mp_context=_context()) as pool:
        reference_pass(pool, paths)
        cold = time.perf_counter() - start
        warm = reference_pass(pool, paths)
    return cold, warm


async def inspect_pass(inspector: Inspector, root: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    entries = skipped = 0
    planned = (x for x in walk(root, PlanOptions()) if isinstance(x, Planned))
    async for result in inspector.stream(planned):
        if isinstance(result, NodeEntry):
            entries += 1
        elif isinstance(result, Skipped):
            skipped += 1
    return time.perf_counter() - start, entries, skipped


async def ours(root: Path, concurrency: int) -> tuple[float, float, int, int]:
    start = time.perf_counter()
    async with Inspector(concurrency) as inspector:
        await inspect_pass(inspector, root)
        cold = time.perf_counter() - start
        warm, entries, skipped = await inspect_pass(inspector, root)
    return cold, warm, entries, skipped


def serial_cpu(root: Path, limit: int) -> tuple[float, float, int]:
    """CPU seconds per file in this process, ours and the reference's, over the first
    ``limit`` files: a comparison a loaded machine disturbs less than wall-clock rates."""
    from tiled.registration.inspect import inspect_planned

    items = [x for x in walk(root, PlanOptions()) if isinstance(x, Planned)][:limit]
    for planned in items[:20]:  # imports and caches
        inspect_planned(planned)
        read_header(str(planned.files[0].path))
    ours = reference = 0.0
    for planned in items:
        start = time.process_time()
        inspect_planned(planned)
        ours += time.process_time() - start
        start = time.process_time()
        read_header(str(planned.files[0].path))
        reference += time.process_time() - start
    return ours / len(items), reference / len(items), len(items)


def plan_pass(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    files = sum(len(x.files) for x in walk(root, PlanOptions()) if isinstance(x, Planned))
    return time.perf_counter() - start, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="number of files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, help="where to write the tree (kept)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="keep the files' modification times (just written: completeness is checked too)",
    )
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="tiled-plan-bench-"))
    try:
        tree = root / f"mixed-{args.n}-{args.seed}"
        if not tree.exists():
            start = time.perf_counter()
            write_mixed_tree(tree, args.n, seed=args.seed)
            print(f"wrote {args.n} files in {time.perf_counter() - start:.1f} s to {tree}")
        if not args.fresh:  # a tree at rest: no completeness checks (see inspect_planned)
            hour_ago = time.time() - 3600
            for directory, _, names in os.walk(tree):
                for name in names:
                    os.utime(os.path.join(directory, name), (hour_ago, hour_ago))
        paths = sorted(os.path.join(d, f) for d, _, names in os.walk(tree) for f in names)
        print(
            f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"concurrency {args.concurrency}, {len(paths)} files"
        )
        plan_pass(tree)  # warm the directory cache, as both passes below see it
        plan_seconds, planned_files = plan_pass(tree)
        assert planned_files == len(paths), (planned_files, len(paths))
        cold, warm, entries, skipped = asyncio.run(ours(tree, args.concurrency))
        ref_cold, ref_warm = reference(paths, args.concurrency)
        n = len(paths)
        print(f"walk+plan           {n / plan_seconds:10.0f} files/s  ({plan_seconds:.2f} s)")
        print(
            f"inspect, cold pool  {n / cold:10.0f} files/s  ({cold:.2f} s; "
            f"{entries} nodes, {skipped} skipped)"
        )
        print(f"inspect, warm pool  {n / warm:10.0f} files/s  ({warm:.2f} s)")
        print(f"reference, cold     {n / ref_cold:10.0f} files/s  ({ref_cold:.2f} s)")
        print(f"reference, warm     {n / ref_warm:10.0f} files/s  ({ref_warm:.2f} s)")
        print(f"ratio cold          {ref_cold / cold:10.0%}")
        print(f"ratio warm          {ref_warm / warm:10.0%}")
        mine, theirs, counted = serial_cpu(tree, 1000)
        print(
            f"CPU per file, one process, {counted} files: inspect {mine * 1e6:.0f} us, "
            f"reference {theirs * 1e6:.0f} us, ratio {theirs / mine:.0%}"
        )
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
