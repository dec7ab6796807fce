"""The catalog's schema lifecycle and lookups, on real SQLite and PostgreSQL."""

import asyncio
import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import event

from tiled.catalog import Catalog
from tiled.catalog.database import check_database, initialize_database, upgrade_database
from tiled.errors import CatalogError, CatalogNotInitializedError, CatalogSchemaError, NotFoundError
from tiled.structures.core import StructureFamily


def test_sqlite_catalog_uses_wal(tmp_path):
    uri = str(tmp_path / "catalog.db")
    asyncio.run(initialize_database(uri))
    asyncio.run(initialize_database(uri))  # safe to repeat
    with closing(sqlite3.connect(uri)) as connection, connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    asyncio.run(check_database(uri))
    asyncio.run(upgrade_database(uri))  # already current: nothing to do


def test_missing_catalog_says_to_init(tmp_path):
    uri = str(tmp_path / "missing.db")
    for check in (check_database, upgrade_database):
        with pytest.raises(CatalogNotInitializedError, match="--init, or run `tiled catalog init"):
            asyncio.run(check(uri))
    assert not (tmp_path / "missing.db").exists()


def test_foreign_database_is_refused(tmp_path):
    uri = str(tmp_path / "other.db")
    with closing(sqlite3.connect(uri)) as connection, connection:
        connection.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(CatalogError, match="holds tables but no tiled catalog"):
        asyncio.run(initialize_database(uri))


def test_schema_from_a_newer_tiled_is_refused(tmp_path):
    uri = str(tmp_path / "catalog.db")
    asyncio.run(initialize_database(uri))
    with closing(sqlite3.connect(uri)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    with pytest.raises(CatalogSchemaError, match=r"newer tiled\. Upgrade tiled"):
        asyncio.run(check_database(uri))


def test_deep_lookups_cost_the_same_few_queries_at_any_depth(catalog_uri):
    async def run():
        catalog = await Catalog.connect(catalog_uri)
        statements = []
        for engine in catalog.connections.sync_engines:
            event.listen(
                engine,
                "before_cursor_execute",
                # Queries only: SQLite's deferred BEGIN of a read snapshot is not one.
                lambda *args: None if args[2].startswith("BEGIN") else statements.append(args[2]),
            )
        try:
            path = ()
            for depth in range(12):
                key = f"level{depth}"
                await catalog.create_node(
                    path,
                    key=key,
                    structure_family=StructureFamily.container,
                    metadata={"depth": depth},
                    specs=[],
                )
                path = (*path, key)
            counts = {}
            for depth in (1, 6, 12):
                statements.clear()
                record = await catalog.lookup(path[:depth])
                assert record.metadata == {"depth": depth - 1}
                counts[depth] = len(statements)
            statements.clear()
            with pytest.raises(NotFoundError, match="No such entry"):
                await catalog.lookup((*path, "missing"))
            return counts, len(statements)
        finally:
            await catalog.close()

    counts, missing = asyncio.run(run())
    assert counts[1] == counts[6] == counts[12] <= 2
    assert missing == 1
