"""What the search indexes cost writers: bulk insert rate with and without them.

Inserts the same N nodes of ``search.py`` (same metadata, same batches: executemany on
SQLite, COPY on PostgreSQL, the triggers indexing each batch) into fresh catalogs: one as
migrated, one whose search triggers and search-only indexes were dropped (what a catalog
without migration 0002's work would cost) and, on PostgreSQL, one without the word tables
of migrations 0005 and 0006, and one without 0006's word bitmaps only. Prints nodes/s of
each and the ratios, measured in the same run.

    python3 benchmarks/search_writes.py --nodes 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from search import _fill_postgresql, _fill_sqlite  # same directory

from tiled.catalog import Catalog
from tiled.structures.core import StructureFamily
from tiled.testing import databases

_SQLITE_DROPS = [f"DROP TRIGGER nodes_search_{n}" for n in ("insert", "update", "delete")]
# migration 0006's word bitmaps alone: their triggers
_PG_BITS_DROPS = [f"DROP TRIGGER nodes_bits_{n} ON nodes" for n in ("insert", "update", "delete")]
# the word tables of migrations 0005 and 0006: their triggers and index
_PG_WORD_DROPS = [
    f"DROP TRIGGER nodes_words_{n} ON nodes" for n in ("insert", "update", "delete")
] + ["DROP INDEX ix_fulltext_words", *_PG_BITS_DROPS]
_PG_DROPS = [f"DROP TRIGGER nodes_search_{n} ON nodes" for n in ("insert", "update", "delete")] + [
    "DROP INDEX ix_nodes_fulltext",
    "DROP INDEX ix_nodes_metadata",
    "DROP INDEX ix_nodes_parent_family",
    *_PG_WORD_DROPS,
]


async def _prepare(uri: str, drops: list[str]) -> int:
    catalog = await Catalog.connect(uri, init=True)
    try:
        node = await catalog.create_node(
            (), key="bench", structure_family=StructureFamily.container, metadata={}, specs=[]
        )
        if drops:
            from sqlalchemy import text

            async with catalog.engine.begin() as conn:
                for statement in drops:
                    await conn.execute(text(statement))
        return node.id
    finally:
        await catalog.close()


def _rate(uri: str, nodes: int, batch: int, drops: list[str]) -> tuple[float, float | None]:
    """Nodes per wall second, and per CPU second of the process doing the indexing (this
    one for SQLite, the server's backend for PostgreSQL when local; None otherwise)."""
    parent_id = asyncio.run(_prepare(uri, drops))
    started, cpu = time.perf_counter(), time.process_time()
    if uri.startswith("postgresql"):
        used = asyncio.run(_fill_postgresql(uri, parent_id, nodes, batch))
    else:
        _fill_sqlite(uri, parent_id, nodes, batch)
        used = time.process_time() - cpu
    return nodes / (time.perf_counter() - started), (nodes / used if used else None)


def _show(rate: tuple[float, float | None]) -> str:
    wall, cpu = rate
    return f"{wall:,.0f} ({cpu:,.0f})" if cpu else f"{wall:,.0f}"


def _pg_database() -> tuple[str, str]:
    name = f"tiled_writes_{uuid.uuid4().hex[:8]}"
    asyncio.run(databases._execute(databases.admin_uri(), f'CREATE DATABASE "{name}"'))
    return name, databases.database_uri(name)


def _cost(cheap: tuple[float, float | None], dear: tuple[float, float | None]) -> str:
    wall = f"{cheap[0] / dear[0]:.2f}x"
    if cheap[1] and dear[1]:
        return f"{wall} ({cheap[1] / dear[1]:.2f}x CPU)"
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.nodes:,} nodes per run\n")
    print("nodes/s of wall time (and of CPU time of the indexing process)\n")
    print(
        "| database | without search indexes | with them, but no word tables "
        "| with them, but no word bitmaps | with them | cost |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as directory:
        plain = _rate(str(Path(directory) / "plain.db"), args.nodes, args.batch, _SQLITE_DROPS)
        full = _rate(str(Path(directory) / "full.db"), args.nodes, args.batch, [])
    print(f"| SQLite | {_show(plain)} | (none) | (none) | {_show(full)} | {_cost(plain, full)} |")
    names = []
    try:
        rates = []
        for drops in (_PG_DROPS, _PG_WORD_DROPS, _PG_BITS_DROPS, []):
            name, uri = _pg_database()
            names.append(name)
            rates.append(_rate(uri, args.nodes, args.batch, drops))
    finally:
        for name in names:
            databases.drop_database(name)
    plain, no_words, no_bits, full = rates
    print(
        f"| PostgreSQL | {_show(plain)} | {_show(no_words)} | {_show(no_bits)} | {_show(full)} "
        f"| {_cost(plain, full)} (word tables: {_cost(no_words, full)}; "
        f"bitmaps: {_cost(no_bits, full)}) |"
    )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
