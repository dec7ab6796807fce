"""CPU time per node written into the catalog: what limits the indexing rate on 2 cores.

Wall time on a shared 2-core machine says little; this counts CPU seconds (user + system)
of every process that works on a write, per node:

* ``Catalog.apply`` in-process (``serve directory``'s sink without its file checks):
  this process (Python, SQLAlchemy, SQLite and its triggers in aiosqlite's thread) and,
  on PostgreSQL, the server backends of the catalog's database (triggers run there);
* ``POST /api/v1/bulk/register`` (``tiled register``'s sink): the server process (request
  decoding, checks, catalog) plus its PostgreSQL backends; the client is not counted.

Entries are those of ``bulk_write.py`` (real TIFF/CSV/HDF5 files, their real metadata),
written in batches: create, then replace unchanged, then replace with new metadata.

    python3 benchmarks/write_cpu.py --nodes 5000 [--no-postgres] [--no-http]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from bulk_write import make_tree  # same directory

from tiled.catalog import Catalog
from tiled.catalog.database import initialize_database
from tiled.registration.model import Change, NodeEntry, Put
from tiled.testing import databases
from tiled.testing.processes import serve_catalog_process


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def backends_cpu(database: str | None) -> float:
    """CPU seconds of the PostgreSQL backends connected to ``database`` (0 for SQLite)."""
    if database is None:
        return 0.0
    total = 0.0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            total += _cpu(process)
    return total


def phases(entries: list[NodeEntry]) -> list[tuple[str, list[Change]]]:
    changed = []
    for entry in entries:
        entry = copy.copy(entry)
        entry.metadata = {**entry.metadata, "revision": 2}
        changed.append(Put(entry, replace=True))
    return [
        ("create", [Put(e) for e in entries]),
        ("replace, same metadata", [Put(e, replace=True) for e in entries]),
        ("replace, new metadata", changed),
    ]


def report(label: str, nodes: int, own: float, backend: float) -> None:
    total = own + backend
    print(
        f"  {label:<34} {1e6 * total / nodes:7.0f} us CPU a node "
        f"(writer {1e6 * own / nodes:5.0f} + database server {1e6 * backend / nodes:5.0f})",
        flush=True,
    )


async def catalog_run(uri: str, database: str | None, entries: list[NodeEntry], batch: int):
    catalog = await Catalog.connect(uri)
    try:
        for label, changes in phases(entries):
            own, backend = time.process_time(), backends_cpu(database)
            for start in range(0, len(changes), batch):
                outcomes = await catalog.apply((), changes[start : start + batch])
                bad = [o for o in outcomes if not o.ok]
                if bad:
                    raise RuntimeError(f"{len(bad)} refused, e.g. {bad[0]}")
            own, backend = time.process_time() - own, backends_cpu(database) - backend
            report(f"Catalog.apply {label}", len(changes), own, backend)
    finally:
        await catalog.close()


def http_run(uri: str, database: str | None, root: Path, entries: list[NodeEntry], batch: int):
    from tiled.registration.sinks import HttpSink

    with serve_catalog_process([uri, "-r", str(root), "--api-key", "secret"]) as server:
        process = psutil.Process(server.process.pid)

        async def run() -> None:
            sink = HttpSink(server.url, "secret", batch_limit=batch)
            try:
                for label, changes in phases(entries):
                    own, backend = _cpu(process), backends_cpu(database)
                    for start in range(0, len(changes), batch):
                        outcomes = await sink.apply(changes[start : start + batch])
                        if not all(o.ok for o in outcomes):
                            raise RuntimeError(f"refused: {outcomes[0]}")
                    own, backend = _cpu(process) - own, backends_cpu(database) - backend
                    report(f"bulk POST {label}", len(changes), own, backend)
            finally:
                await sink.close()

        asyncio.run(run())


def databases_to_use(work: Path, use_postgres: bool):
    """(name, make) pairs: make(label) -> (uri, database name or None, cleanup)."""

    def sqlite(label: str) -> tuple[str, str | None, Callable[[], None]]:
        uri = str(work / f"{label}.db")
        asyncio.run(initialize_database(uri))
        return uri, None, lambda: None

    yield "sqlite", sqlite
    if use_postgres and databases.postgres_reachable():
        template = databases.create_template()
        try:

            def postgres(label: str) -> tuple[str, str | None, Callable[[], None]]:
                context = databases.fresh_database(template)
                uri = context.__enter__()
                name = uri.rsplit("/", 1)[-1]
                return uri, name, lambda: context.__exit__(None, None, None)

            yield "postgresql", postgres
        finally:
            databases.drop_database(template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "tree"
        root.mkdir()
        entries = make_tree(root, args.nodes)
        print(f"{args.nodes:,} files, {len(entries):,} entries, batch {args.batch}")
        for name, make in databases_to_use(work, not args.no_postgres):
            print(f"{name}:")
            uri, database, cleanup = make("catalog")
            try:
                asyncio.run(catalog_run(uri, database, entries, args.batch))
            finally:
                cleanup()
            if args.no_http:
                continue
            uri, database, cleanup = make("http")
            try:
                http_run(uri, database, root, entries, args.batch)
            finally:
                cleanup()


if __name__ == "__main__":
    main()
