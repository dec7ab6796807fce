"""How fast the sinks write: nodes/s and per-batch latency of CatalogSink (in-process) and
HttpSink (a real server, in its own process, over HTTP), on SQLite and, when reachable, PostgreSQL.

The entries are real: N small files (TIFF, CSV, HDF5, written by their libraries) in
directories of 100, one entry per file. Each kind is inspected once by our adapters and
the structure reused (inspection speed is not what this measures); stats are each file's
own. Batches go through the sinks' apply, so the server's checks (path resolution, stat)
and the search-index triggers are all included.

    python3 benchmarks/bulk_write.py --nodes 1000 10000 [--batch 500] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import tempfile
import time
from pathlib import Path

from tiled.catalog import Catalog
from tiled.catalog.database import initialize_database
from tiled.catalog.records import AssetStat
from tiled.registration.model import Change, NodeEntry, Put, Remove
from tiled.registration.sinks import CatalogSink
from tiled.testing import databases
from tiled.testing.entries import (
    container_entry,
    file_entry,
    write_csv,
    write_hdf5,
    write_tiff,
)
from tiled.testing.processes import serve_catalog_process

KINDS = [
    ("tiff", "image/tiff", write_tiff),
    ("csv", "text/csv", write_csv),
    ("h5", "application/x-hdf5", write_hdf5),
]
PER_DIRECTORY = 100


def make_tree(root: Path, nodes: int) -> list[NodeEntry]:
    """Write ``nodes`` files under ``root``; the entries, directories first."""
    templates: dict[str, NodeEntry] = {}
    entries: list[NodeEntry] = []
    for i in range(nodes):
        directory = f"d{i // PER_DIRECTORY:04d}"
        if i % PER_DIRECTORY == 0:
            (root / directory).mkdir()
            entries.append(container_entry((directory,), {"directory": directory}))
        ext, mimetype, write = KINDS[i % len(KINDS)]
        path = write(root / directory / f"f{i:06d}.{ext}")
        if ext not in templates:
            templates[ext] = file_entry(("x",), [path], mimetype)
        entry = copy.deepcopy(templates[ext])
        entry.key_path = (directory, f"f{i:06d}")
        entry.metadata = {**entry.metadata, "index": i, "name": path.name}
        asset = entry.data_sources[0].assets[0]
        asset.data_uri = path.resolve().as_uri()
        info = path.stat()
        entry.stats = {asset.data_uri: AssetStat(info.st_size, info.st_mtime_ns)}
        entries.append(entry)
    return entries


async def write_all(sink, changes: list[Change], batch: int) -> tuple[float, list[float]]:
    latencies = []
    started = time.perf_counter()
    for start in range(0, len(changes), batch):
        t0 = time.perf_counter()
        outcomes = await sink.apply(changes[start : start + batch])
        latencies.append(time.perf_counter() - t0)
        bad = [o for o in outcomes if not o.ok]
        if bad:
            raise RuntimeError(f"{len(bad)} refused, e.g. {bad[0]}")
    return time.perf_counter() - started, latencies


async def listing_seconds(sink) -> tuple[float, int]:
    t0 = time.perf_counter()
    count = 0
    async for _ in sink.registered():
        count += 1
    return time.perf_counter() - t0, count


def report(label: str, n: int, elapsed: float, latencies: list[float]) -> None:
    p50 = statistics.median(latencies) * 1000
    worst = max(latencies) * 1000
    print(
        f"  {label:<28} {n / elapsed:>8,.0f} nodes/s   batch p50 {p50:7.1f} ms  max {worst:7.1f} ms"
    )


async def catalog_run(uri: str, root: Path, entries: list[NodeEntry], batch: int) -> None:
    catalog = await Catalog.connect(uri)
    try:
        sink = CatalogSink(catalog, (), readable=[root])
        n = len(entries)
        elapsed, latencies = await write_all(sink, [Put(e) for e in entries], batch)
        report("CatalogSink create", n, elapsed, latencies)
        seconds, count = await listing_seconds(sink)
        print(
            f"  {'registered() listing':<28} {count / seconds:>8,.0f} nodes/s   "
            f"({count:,} in {seconds:.2f} s)"
        )
        elapsed, latencies = await write_all(sink, [Put(e, replace=True) for e in entries], batch)
        report("CatalogSink replace", n, elapsed, latencies)
        removes: list[Change] = [Remove(e.key_path) for e in entries if len(e.key_path) == 2]
        elapsed, latencies = await write_all(sink, removes, batch)
        report("CatalogSink remove (leaves)", len(removes), elapsed, latencies)
    finally:
        await catalog.close()


async def http_run(url: str, entries: list[NodeEntry], batch: int) -> None:
    from tiled.registration.sinks import HttpSink

    sink = HttpSink(url, "secret", batch_limit=batch)
    try:
        elapsed, latencies = await write_all(sink, [Put(e) for e in entries], batch)
        report("HttpSink create", len(entries), elapsed, latencies)
        seconds, count = await listing_seconds(sink)
        print(
            f"  {'registered() over HTTP':<28} {count / seconds:>8,.0f} nodes/s   "
            f"({count:,} in {seconds:.2f} s)"
        )
        elapsed, latencies = await write_all(sink, [Put(e, replace=True) for e in entries], batch)
        report("HttpSink replace", len(entries), elapsed, latencies)
    finally:
        await sink.close()


def listing_benchmark(uri: str, root: Path, nodes: int, batch: int) -> None:
    """``registered()`` over a catalog of ``nodes`` nodes (the catalog alone, then HTTP).

    The nodes are written through Catalog.apply with one real file's entry copied under
    distinct asset URIs (the catalog does not open files), so that building a 100,000-node
    catalog does not need 100,000 files.
    """
    template = file_entry(("x",), [write_tiff(root / "template.tiff")], "image/tiff")

    async def fill_and_list() -> None:
        catalog = await Catalog.connect(uri)
        try:
            changes: list[Change] = []
            for i in range(nodes):
                directory = f"d{i // 1000:04d}"
                if i % 1000 == 0:
                    changes.append(Put(container_entry((directory,))))
                entry = copy.deepcopy(template)
                entry.key_path = (directory, f"f{i:07d}")
                asset = entry.data_sources[0].assets[0]
                asset.data_uri = f"{asset.data_uri}.{i}"
                entry.stats = {asset.data_uri: AssetStat(1000 + i, 1_700_000_000_000_000_000 + i)}
                changes.append(Put(entry))
            t0 = time.perf_counter()
            for start in range(0, len(changes), batch):
                await catalog.apply((), changes[start : start + batch])
            print(f"  filled {len(changes):,} nodes in {time.perf_counter() - t0:.1f} s")
            seconds, count = await listing_seconds(CatalogSink(catalog))
            print(f"  {'registered() in-process':<28} {count:,} nodes in {seconds:.2f} s")
        finally:
            await catalog.close()

    asyncio.run(fill_and_list())
    from tiled.registration.sinks import HttpSink

    with serve_catalog_process([uri, "-r", str(root), "--api-key", "secret"]) as server:

        async def over_http() -> None:
            sink = HttpSink(server.url, "secret")
            try:
                seconds, count = await listing_seconds(sink)
                print(f"  {'registered() over HTTP':<28} {count:,} nodes in {seconds:.2f} s")
            finally:
                await sink.close()

        asyncio.run(over_http())


def fresh_uris(work: Path, use_postgres: bool):
    async def sqlite(name: str) -> str:
        uri = str(work / f"{name}.db")
        await initialize_database(uri)
        return uri

    yield "sqlite", lambda name: asyncio.run(sqlite(name)), None
    if use_postgres and databases.postgres_reachable():
        template = databases.create_template()
        try:
            yield "postgresql", None, template
        finally:
            databases.drop_database(template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--listing", type=int, default=0, help="also list a catalog of N nodes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.listing:
            (work / "listing").mkdir()
            for name, make_sqlite, template in fresh_uris(work, not args.no_postgres):
                print(f"listing {args.listing:,} nodes, {name}:")
                if make_sqlite is not None:
                    uri = make_sqlite("listing")
                    listing_benchmark(uri, work / "listing", args.listing, args.batch)
                else:
                    with databases.fresh_database(template) as uri:
                        listing_benchmark(uri, work / "listing", args.listing, args.batch)
        for n in args.nodes:
            root = work / f"tree{n}"
            root.mkdir()
            t0 = time.perf_counter()
            entries = make_tree(root, n)
            print(
                f"{n:,} files ({len(entries):,} entries) "
                f"written in {time.perf_counter() - t0:.1f} s"
            )
            for name, make_sqlite, template in fresh_uris(work, not args.no_postgres):
                print(f" {name}, batch {args.batch}:")
                for use in ("catalog", "http"):
                    if use == "http" and args.no_http:
                        continue
                    if make_sqlite is not None:
                        uri = make_sqlite(f"{use}{n}")
                        _run(use, uri, root, entries, args.batch)
                    else:
                        with databases.fresh_database(template) as uri:
                            _run(use, uri, root, entries, args.batch)


def _run(use: str, uri: str, root: Path, entries: list[NodeEntry], batch: int) -> None:
    if use == "catalog":
        asyncio.run(catalog_run(uri, root, entries, batch))
        return
    # The server in its own process, as `tiled register` meets it: client and server
    # do not share one interpreter's GIL.
    args = [uri, "-r", str(root), "--api-key", "secret"]
    with serve_catalog_process(args) as server:
        asyncio.run(http_run(server.url, entries, batch))


if __name__ == "__main__":
    main()
