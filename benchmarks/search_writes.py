"""What the search indexes cost writers: bulk insert rate with and without them.

Inserts the same N nodes of ``search.py`` (same metadata, same batches: executemany on
SQLite, COPY on PostgreSQL) into two fresh catalogs: one as migrated, one whose search
triggers and search-only indexes were dropped (what a catalog without migration 0002's
work would cost). Prints nodes/s of each and the ratio, measured in the same run.

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
_PG_DROPS = [f"DROP TRIGGER nodes_search_{n} ON nodes" for n in ("insert", "update", "delete")] + [
    "DROP INDEX ix_nodes_fulltext",
    "DROP INDEX ix_nodes_metadata",
    "DROP INDEX ix_nodes_parent_family",
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


def _rate(uri: str, nodes: int, batch: int, drops: list[str]) -> float:
    parent_id = asyncio.run(_prepare(uri, drops))
    started = time.perf_counter()
    if uri.startswith("postgresql"):
        asyncio.run(_fill_postgresql(uri, parent_id, nodes, batch))
    else:
        _fill_sqlite(uri, parent_id, nodes, batch)
    return nodes / (time.perf_counter() - started)


def _pg_database() -> tuple[str, str]:
    name = f"tiled_writes_{uuid.uuid4().hex[:8]}"
    asyncio.run(databases._execute(databases.admin_uri(), f'CREATE DATABASE "{name}"'))
    return name, databases.database_uri(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.nodes:,} nodes per run\n")
    print("| database | without search indexes | with them | cost |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as directory:
        plain = _rate(str(Path(directory) / "plain.db"), args.nodes, args.batch, _SQLITE_DROPS)
        full = _rate(str(Path(directory) / "full.db"), args.nodes, args.batch, [])
    print(f"| SQLite | {plain:,.0f} nodes/s | {full:,.0f} nodes/s | {plain / full:.1f}x |")
    names = []
    try:
        name, uri = _pg_database()
        names.append(name)
        plain = _rate(uri, args.nodes, args.batch, _PG_DROPS)
        name, uri = _pg_database()
        names.append(name)
        full = _rate(uri, args.nodes, args.batch, [])
    finally:
        for name in names:
            databases.drop_database(name)
    print(f"| PostgreSQL | {plain:,.0f} nodes/s | {full:,.0f} nodes/s | {plain / full:.1f}x |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
