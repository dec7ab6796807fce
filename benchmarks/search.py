"""Search, sort, page and count in a container of N nodes, on SQLite and PostgreSQL.

Builds (once, then cached) a catalog whose container ``bench`` holds N nodes with
realistic metadata (sample names, numbers, timestamps, tags, free text), inserted in
bulk straight into ``nodes`` (executemany on SQLite, COPY on PostgreSQL) so that the
triggers of migration 0002 maintain the search indexes exactly as for any writer. Then
measures p50/p95 latency of each operation through ``Catalog.page`` (count + page +
records, what the search route calls) and over HTTP (a server in a thread), and prints
the EXPLAIN of every statement one run of each operation executed.

    python3 benchmarks/search.py --nodes 100000 --dialect sqlite
    python3 benchmarks/search.py --nodes 1000000 --cache /work/bench-cache \\
        --pg-database tiled_bench_1m --repeat 40

Targets (issue 6): p95 < 100 ms on SQLite and < 50 ms on PostgreSQL for each operation;
page 10,000 no slower than 2x page 1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from tiled import queries as q
from tiled.catalog import Catalog
from tiled.structures.core import StructureFamily
from tiled.testing import databases
from tiled.testing.server import run_server

WORDS = """the quick brown fox jumps over lazy dog sample powder crystal thin film anneal
quench scan calibration beam alignment detector noise dark flat background peak shift phase
transition magnetic ordering low high temperature pressure cell diamond anvil heating cooling
ramp hold dwell edge spectrum absorption diffraction scattering small angle wide total
reflection grazing incidence operando battery cathode anode electrolyte catalyst""".split()  # noqa: SIM905
ELEMENTS = ["Ni", "Cu", "Fe", "Co", "Mn", "Ti", "Zn", "Al", "Si", "Au", "Ag", "Pt", "Pd"]
DETECTORS = ["eiger", "pilatus", "merlin", "xspress3", "perkin", "andor", "dexela"]
OPERATORS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
TAGS = ["calibration", "in-situ", "operando", "test", "production", "dark", "flat"]
START = 1.6e9  # timestamps: one scan every 37.5 s from here
PAGE = 100
API_KEY = "secret"


def metadata(i: int, rng: random.Random) -> dict[str, Any]:
    """What a beamline scan's start document might carry (~500 bytes of JSON)."""
    element = rng.choice(ELEMENTS)
    return {
        "scan_id": i,
        "uid": f"{rng.getrandbits(128):032x}",
        "timestamp": START + i * 37.5 + rng.random(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + i * 37.5)),
        "sample": {
            "name": f"{element}{rng.randrange(10000)}",
            "element": element,
            "mass_mg": round(rng.uniform(0.1, 50), 3),
        },
        "temperature": round(rng.gauss(300, 80), 2),
        "energy_keV": round(rng.uniform(5, 30), 4),
        "detector": rng.choice(DETECTORS),
        "operator": rng.choice(OPERATORS),
        "proposal": f"P-{2020 + i % 5:04d}-{rng.randrange(2000):04d}",
        "exposure_s": rng.choice([0.01, 0.1, 0.5, 1, 2, 5]),
        "num_frames": rng.randrange(1, 2000),
        "tags": rng.sample(TAGS, rng.randrange(0, 4)),
        "motors": {
            "x": round(rng.uniform(-10, 10), 4),
            "y": round(rng.uniform(-10, 10), 4),
            "theta": round(rng.uniform(0, 90), 4),
        },
        "description": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 20))),
    }


def rows(parent_id: int, start: int, stop: int) -> list[tuple[Any, ...]]:
    rng = random.Random(start)
    return [
        (
            parent_id,
            f"s{i:07d}",
            f"bench/s{i:07d}",
            "container",
            json.dumps(metadata(i, rng)),
            json.dumps([{"name": "scan", "version": None}] if i % 10 == 0 else []),
        )
        for i in range(start, stop)
    ]


# -- building --------------------------------------------------------------------------


async def prepare(uri: str, nodes: int, batch: int) -> float | None:
    """Create and fill the catalog unless it already holds ``nodes``; returns build secs."""
    catalog = await Catalog.connect(uri, init=True)
    try:
        try:
            found = await catalog.count(("bench",))
        except KeyError:
            await catalog.create_node(
                (), key="bench", structure_family=StructureFamily.container, metadata={}, specs=[]
            )
            found = 0
        if found == nodes:
            return None
        if found:
            raise SystemExit(f"{uri} holds {found} nodes, not {nodes}: remove it first")
        parent_id = (await catalog.lookup(("bench",))).id
    finally:
        await catalog.close()
    started = time.perf_counter()
    if uri.startswith("postgresql"):
        await _bulk_fill_postgresql(uri, parent_id, nodes, batch)
    else:
        cpu = time.process_time()
        _fill_sqlite(uri, parent_id, nodes, batch)
        print(f"  SQLite spent {time.process_time() - cpu:.0f} s of CPU time on the build")
    return time.perf_counter() - started


def _fill_sqlite(path: str, parent_id: int, nodes: int, batch: int) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    # The triggers insert each node's ~23 index rows at random places in metadata_index:
    # a cache that holds the whole catalog (~1.8 GB at 1M nodes) keeps that off the disk.
    connection.execute("PRAGMA cache_size=-3145728")  # 3 GiB while building
    for start in range(0, nodes, batch):
        with connection:
            connection.executemany(
                "INSERT INTO nodes (parent_id, key, path, structure_family, metadata, specs) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows(parent_id, start, min(nodes, start + batch)),
            )
        _progress(start + batch, nodes)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a local process, from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _copy_nodes(connection: Any, parent_id: int, nodes: int, batch: int) -> None:
    """COPY the benchmark's nodes into ``nodes``, ``batch`` at a time."""
    for start in range(0, nodes, batch):
        await connection.copy_records_to_table(
            "nodes",
            records=rows(parent_id, start, min(nodes, start + batch)),
            columns=["parent_id", "key", "path", "structure_family", "metadata", "specs"],
        )
        _progress(start + batch, nodes)


async def _fill_postgresql(uri: str, parent_id: int, nodes: int, batch: int) -> float | None:
    """COPY in batches, the search triggers indexing each batch (what any writer pays).
    Returns the CPU seconds the server's backend spent on it, when it runs on this host."""
    import asyncpg

    connection = await asyncpg.connect(**databases._connect_kwargs(uri))
    try:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        before = _process_cpu(pid)
        await _copy_nodes(connection, parent_id, nodes, batch)
        after = _process_cpu(pid)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return after - before if after is not None and before is not None else None


# Indexes on these tables that back no constraint: dropped while loading, then rebuilt
# from their own definitions (one sorted build each instead of 20+ million inserts).
_PG_LOAD_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid
WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
"""
_PG_INDEXED_TABLES = ["nodes", "metadata_index", "fulltext_words"]


# The statement-level AFTER INSERT triggers on nodes (search indexes, words, ...), each
# with the function it runs and the name of its transition table.
_PG_INSERT_TRIGGERS = """
SELECT t.tgname, t.tgnewtable, p.prosrc
FROM pg_trigger AS t JOIN pg_proc AS p ON p.oid = t.tgfoid
WHERE t.tgrelid = 'nodes'::regclass AND NOT t.tgisinternal AND t.tgnewtable IS NOT NULL
  AND t.tgtype & 1 = 0 AND t.tgtype & 4 <> 0 AND t.tgenabled <> 'D'
ORDER BY t.tgname
"""


async def _bulk_fill_postgresql(uri: str, parent_id: int, nodes: int, batch: int) -> None:
    """COPY every node with the insert triggers off, then run each trigger's own body
    once over all of them, set-based, and rebuild the indexes: the same rows as
    ``_fill_postgresql`` (tests/catalog/test_search_bench_build.py compares them) in a
    fraction of the time.

    The bodies are read from the installed trigger functions, so they are whatever the
    catalog's migrations made them; each transition table becomes a temporary view of
    the loaded nodes. One transaction: a failed build leaves the catalog as it was.
    """
    import asyncpg

    connection = await asyncpg.connect(**databases._connect_kwargs(uri))
    try:
        triggers = await connection.fetch(_PG_INSERT_TRIGGERS)
        if not triggers:
            raise SystemExit(f"{uri} has no search triggers: run `tiled catalog upgrade`")
        await connection.execute("SET maintenance_work_mem = '1GB'")
        async with connection.transaction():
            indexes = await connection.fetch(_PG_LOAD_INDEXES, _PG_INDEXED_TABLES)
            for name, _ in indexes:
                await connection.execute(f"DROP INDEX {name}")
            for trigger in triggers:
                await connection.execute(f"ALTER TABLE nodes DISABLE TRIGGER {trigger['tgname']}")
            await _copy_nodes(connection, parent_id, nodes, batch)
            for name, table, body in triggers:
                await connection.execute(f"ALTER TABLE nodes ENABLE TRIGGER {name}")
                await connection.execute(
                    f"CREATE TEMPORARY VIEW {table} AS SELECT * FROM nodes "
                    f"WHERE parent_id = {int(parent_id)}"
                )
                started = time.perf_counter()
                # a trigger function's body, run as a block that returns nothing
                await connection.execute(
                    f"DO $body$ {body.replace('RETURN NULL;', 'RETURN;')} $body$"
                )
                print(f"  {name}: ran its body once in {time.perf_counter() - started:.0f} s")
                await connection.execute(f"DROP VIEW {table}")
            started = time.perf_counter()
            for _, definition in indexes:
                await connection.execute(definition)
            print(f"  built {len(indexes)} indexes in {time.perf_counter() - started:.0f} s")
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _progress(done: int, total: int) -> None:
    if done % (total // 10 or 1) < 10_000 or done >= total:
        print(f"  inserted {min(done, total):,} / {total:,}", flush=True)


# -- operations ------------------------------------------------------------------------


@dataclass
class Operation:
    name: str
    make: Callable[[random.Random], dict[str, Any]]  # keyword arguments of Catalog.page
    samples: list[float] = field(default_factory=list)
    http: list[float] = field(default_factory=list)


def operations(nodes: int, deep_cursor: str, deep_sorted_cursor: str) -> list[Operation]:
    last = nodes // PAGE
    deep_offset = (last - 1) * PAGE
    newest = [("timestamp", -1)]

    def name(rng: random.Random) -> str:
        return f"{rng.choice(ELEMENTS)}{rng.randrange(10000)}"

    def window(rng: random.Random) -> list[q.Query]:
        t0 = START + rng.randrange(nodes) * 37.5
        return [q.Key("timestamp") >= t0, q.Key("timestamp") < t0 + 86400]

    def where(*queries: q.Query) -> dict[str, Any]:
        return {"queries": list(queries)}

    return [
        Operation(
            "equality, sample.name (~8 matches)", lambda r: where(q.Eq("sample.name", name(r)))
        ),
        Operation(
            "equality, detector (1 in 7)", lambda r: where(q.Eq("detector", r.choice(DETECTORS)))
        ),
        Operation(
            "range, temperature > ~490 (~1%)",
            lambda r: where(q.Key("temperature") > r.uniform(485, 495)),
        ),
        Operation("range, 1-day timestamp window (2,304)", lambda r: where(*window(r))),
        Operation(
            "full text, two common words (~2%)",
            lambda r: where(q.FullText(" ".join(r.sample(WORDS, 2)))),
        ),
        Operation("full text, a sample name (~8)", lambda r: where(q.FullText(name(r)))),
        Operation("sorted by -timestamp, page 1", lambda r: {"sorting": newest}),
        Operation(
            f"sorted by -timestamp, page {last:,} (cursor)",
            lambda r: {"sorting": newest, "cursor": deep_sorted_cursor},
        ),
        Operation(
            f"sorted by -timestamp, page {last:,} (offset)",
            lambda r: {"sorting": newest, "offset": deep_offset},
        ),
        Operation("default order, page 1", lambda r: {}),
        Operation(f"default order, page {last:,} (cursor)", lambda r: {"cursor": deep_cursor}),
        Operation(f"default order, page {last:,} (offset)", lambda r: {"offset": deep_offset}),
        Operation("count all children", lambda r: {"limit": 0}),
        Operation(
            "count detector = x (1 in 7)",
            lambda r: {"limit": 0, **where(q.Eq("detector", r.choice(DETECTORS)))},
        ),
    ]


async def deep_cursor(catalog: Catalog, pages: int, sorting: list[tuple[str, int]]) -> str:
    """The cursor that fetches page ``pages``: the next cursor of page ``pages - 1``,
    reached by offset (the same cursor a client holds after following every page)."""
    found = await catalog.page(("bench",), limit=PAGE, sorting=sorting, offset=(pages - 2) * PAGE)
    assert found.next_cursor is not None
    return found.next_cursor


async def measure_catalog(uri: str, ops: list[Operation], repeat: int) -> dict[str, list[str]]:
    """Latencies through the catalog API, and the statements each operation ran."""
    catalog = await Catalog.connect(uri)
    statements: dict[str, list[str]] = {}
    try:
        for op in ops:
            rng = random.Random(op.name)
            recorded: list[tuple[str, Any]] = []

            def record(*args: Any, into: list[tuple[str, Any]] = recorded) -> None:
                into.append((args[2], args[3]))  # (conn, cursor, statement, params, ...)

            event.listen(catalog.engine.sync_engine, "before_cursor_execute", record)
            await catalog.page(("bench",), **{"limit": PAGE, **op.make(rng)})
            event.remove(catalog.engine.sync_engine, "before_cursor_execute", record)
            statements[op.name] = await _explain(catalog, recorded)
            for _ in range(repeat):
                kwargs = {"limit": PAGE, **op.make(rng)}
                started = time.perf_counter()
                await catalog.page(("bench",), **kwargs)
                op.samples.append(time.perf_counter() - started)
    finally:
        await catalog.close()
    return statements


async def _explain(catalog: Catalog, recorded: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN of each statement an operation ran (loading data sources aside)."""
    plans = []
    postgres = catalog.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    async with catalog.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        for statement, params in recorded:
            if "FROM data_sources" in statement or "FROM data_source_assets" in statement:
                continue
            if postgres:
                lines = [r[0] for r in await driver.fetch(prefix + statement, *params)]
            else:
                cursor = await driver.execute(prefix + statement, params)
                lines = [r[3] for r in await cursor.fetchall()]
            sql = " ".join(statement.split())
            plans.append("  " + (sql if len(sql) < 600 else sql[:600] + " ..."))
            plans += ["      " + line for line in lines]
    return plans


def measure_http(uri: str, ops: list[Operation], repeat: int) -> None:
    """The same operations as GET /api/v1/search requests (ids only: fields=)."""
    from tiled.queries import encode_query

    with (
        run_server(uri, api_key=API_KEY, init=False) as url,
        httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Apikey {API_KEY}"}
        ) as http,
    ):
        for op in ops:
            rng = random.Random(op.name)
            for i in range(repeat + 1):
                kwargs = op.make(rng)
                params: list[tuple[str, str]] = [("page[limit]", str(kwargs.get("limit", PAGE)))]
                params.append(("fields", "count" if kwargs.get("limit") == 0 else ""))
                for query in kwargs.get("queries", []):
                    params += encode_query(query)
                for key, direction in kwargs.get("sorting", []):
                    params.append(("sort", key if direction > 0 else f"-{key}"))
                if "cursor" in kwargs:
                    params.append(("page[cursor]", kwargs["cursor"]))
                if "offset" in kwargs:
                    params.append(("page[offset]", str(kwargs["offset"])))
                started = time.perf_counter()
                response = http.get("/search/bench", params=params)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if i:  # the first request warms the server's connection pool
                    op.http.append(elapsed)


# -- reporting -------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(dialect: str, ops: list[Operation], target_ms: float) -> None:
    runs = len(ops[0].samples)
    print(f"\n### {dialect}: p50 / p95 in ms ({runs} runs each), target p95 < {target_ms:g} ms\n")
    print("| operation | catalog p50 | catalog p95 | HTTP p50 | HTTP p95 | p95 within target |")
    print("|---|---|---|---|---|---|")
    for op in ops:
        p50, p95 = (percentile(op.samples, p) * 1000 for p in (50, 95))
        h50, h95 = (
            (percentile(op.http, p) * 1000 for p in (50, 95)) if op.http else (float("nan"),) * 2
        )
        ok = "yes" if max(p95, h95 if op.http else 0) < target_ms else "no"
        print(f"| {op.name} | {p50:.1f} | {p95:.1f} | {h50:.1f} | {h95:.1f} | {ok} |")
    by_name = {op.name: op for op in ops}
    for label in ("sorted by -timestamp", "default order"):
        first = statistics.median(by_name[f"{label}, page 1"].samples)
        for op in ops:
            if op.name.startswith(f"{label}, page ") and op.name != f"{label}, page 1":
                deep = statistics.median(op.samples)
                print(f"\n{op.name} / page 1 = {deep / first:.2f}x (p50, catalog)")


async def prepare_cursors(uri: str, nodes: int) -> tuple[str, str]:
    catalog = await Catalog.connect(uri)
    try:
        pages = nodes // PAGE
        started = time.perf_counter()
        default = await deep_cursor(catalog, pages, [])
        sorted_ = await deep_cursor(catalog, pages, [("timestamp", -1)])
        print(f"  found the cursors of page {pages:,} in {time.perf_counter() - started:.1f} s")
        return default, sorted_
    finally:
        await catalog.close()


def run(dialect: str, uri: str, args: argparse.Namespace) -> None:
    print(f"\n## {dialect}: {uri}")
    built = asyncio.run(prepare(uri, args.nodes, args.batch))
    if built is not None:
        print(f"  built {args.nodes:,} nodes in {built:.0f} s ({args.nodes / built:,.0f} nodes/s)")
    if args.build_only:
        return
    if dialect == "sqlite":
        size = sum(p.stat().st_size for p in Path(uri).parent.glob(Path(uri).name + "*"))
        print(f"  database size: {size / 1e9:.2f} GB")
    else:
        print(f"  database size: {asyncio.run(_pg_size(uri)) / 1e9:.2f} GB")
    default, sorted_ = asyncio.run(prepare_cursors(uri, args.nodes))
    ops = operations(args.nodes, default, sorted_)
    # The set-up's objects (modules, cursors, the build's leftovers) out of the collector's
    # reach: a full collection over them took 80 ms inside a timed operation.
    gc.collect()
    gc.freeze()
    statements = asyncio.run(measure_catalog(uri, ops, args.repeat))
    if not args.no_http:
        measure_http(uri, ops, args.repeat)
    report(dialect, ops, 100 if dialect == "sqlite" else 50)
    if args.explain:
        print(f"\n#### EXPLAIN ({dialect})")
        for name, plans in statements.items():
            print(f"\n{name}:")
            for line in plans:
                print(line)


async def _pg_size(uri: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(**databases._connect_kwargs(uri))
    try:
        return int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()


async def _ensure_pg_database(name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(**databases._connect_kwargs(databases.admin_uri()))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return databases.database_uri(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--dialect", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cache", type=Path, default=Path("/work/bench-cache"))
    parser.add_argument("--pg-database", default=None, help="default: tiled_bench_<nodes>")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the plans")
    parser.add_argument("--build-only", action="store_true", help="build the cache and stop")
    args = parser.parse_args()
    print(f"# Search benchmark: {args.nodes:,} nodes")
    print(f"  {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    if args.dialect in ("sqlite", "both"):
        args.cache.mkdir(parents=True, exist_ok=True)
        run("sqlite", str(args.cache / f"search_{args.nodes}.db"), args)
    if args.dialect in ("postgresql", "both"):
        label = (
            f"{args.nodes // 1000}k" if args.nodes < 1_000_000 else f"{args.nodes // 1_000_000}m"
        )
        name = args.pg_database or f"tiled_bench_{label}"
        run("postgresql", asyncio.run(_ensure_pg_database(name)), args)
    print(f"\n  load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
