"""The search benchmark's bulk build (COPY with the insert trigger off, then the trigger's
body once, set-based) leaves exactly what the trigger leaves when it runs per batch."""

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest

from tiled.testing import databases

pytestmark = pytest.mark.postgres

NODES = 700

# Every table the search triggers write, and the nodes themselves (ids included).
TABLES = {
    "nodes": "SELECT id, parent_id, key, metadata, specs, fulltext FROM nodes",
    "metadata_index": "SELECT * FROM metadata_index",
    "key_counts": "SELECT * FROM key_counts",
    "node_counts": "SELECT * FROM node_counts",
    "fulltext_words": "SELECT * FROM fulltext_words",
    "indexes": "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'",
}


def _benchmark():
    path = Path(__file__).parents[2] / "benchmarks" / "search.py"
    spec = importlib.util.spec_from_file_location("tiled_search_benchmark", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def _contents(uri: str) -> dict[str, list[str]]:
    import asyncpg

    connection = await asyncpg.connect(**databases._connect_kwargs(uri))
    try:
        return {
            name: sorted(str(tuple(r)) for r in await connection.fetch(statement))
            for name, statement in TABLES.items()
        }
    finally:
        await connection.close()


def test_bulk_build_equals_trigger_path(postgres_template):
    bench = _benchmark()
    found = {}
    for fill in (bench._fill_postgresql, bench._bulk_fill_postgresql):
        with databases.fresh_database(postgres_template) as uri:
            asyncio.run(bench.prepare(uri, 0, 100))  # the container, empty
            parent_id = asyncio.run(_parent_id(bench, uri))
            asyncio.run(fill(uri, parent_id, NODES, 300))
            found[fill.__name__] = asyncio.run(_contents(uri))
    trigger, bulk = found["_fill_postgresql"], found["_bulk_fill_postgresql"]
    assert len(trigger["nodes"]) == NODES + 2
    assert len(trigger["metadata_index"]) > 10 * NODES
    for name in TABLES:
        assert bulk[name] == trigger[name], name


async def _parent_id(bench, uri: str) -> int:
    catalog = await bench.Catalog.connect(uri)
    try:
        return (await catalog.lookup(("bench",))).id
    finally:
        await catalog.close()
