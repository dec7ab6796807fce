"""A new SQLite catalog written from the recorded schema equals one made by the migrations."""

import asyncio
import sqlite3
from contextlib import closing

from tiled.catalog.database import (
    check_database,
    head_revision,
    initialize_database,
    initialize_with_migrations,
)
from tiled.catalog.fresh import create_fresh_sqlite, recorded_head
from tiled.testing.processes import python_output

PRAGMAS = ("user_version", "application_id", "page_size", "auto_vacuum", "encoding", "journal_mode")


def describe(path):
    """Everything a catalog's schema is: objects, rows of every table (the FTS shadow
    tables too), pragmas; creation times only as present."""
    with closing(sqlite3.connect(path)) as connection:
        objects = connection.execute(
            # by name: creation order differs (the recorded schema creates triggers last)
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        rows = {}
        for kind, name, _, _ in objects:
            if kind != "table" or name == "nodes_fts":
                continue
            cursor = connection.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            table = []
            for row in cursor:
                record = dict(zip(columns, row, strict=True))
                for column in ("time_created", "time_updated"):
                    if column in record:
                        assert record.pop(column) is not None
                table.append(record)
            rows[name] = table
        pragmas = {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return objects, rows, pragmas


def test_recorded_schema_is_the_migrated_schema(tmp_path):
    """Tables, indexes, virtual tables, triggers, rows and pragmas all equal."""
    assert recorded_head() == head_revision(), "run `python -m tiled.catalog.fresh`"
    migrated = tmp_path / "migrated.db"
    asyncio.run(initialize_with_migrations(str(migrated)))
    fresh = tmp_path / "fresh.db"
    assert create_fresh_sqlite(fresh)
    objects, rows, pragmas = describe(fresh)
    assert describe(migrated) == (objects, rows, pragmas)
    kinds = {kind for kind, *_ in objects}
    assert {"table", "index", "trigger"} <= kinds
    assert rows["alembic_version"] == [{"version_num": head_revision()}]
    assert pragmas["journal_mode"] == "wal"


def test_fresh_catalog_behaves_like_a_migrated_one(tmp_path):
    """The search triggers of a written catalog fire (counts and the metadata index)."""
    uris = []
    for name, initialize in (
        ("fresh", initialize_database),
        ("migrated", initialize_with_migrations),
    ):
        uri = str(tmp_path / f"{name}.db")
        asyncio.run(initialize(uri))
        asyncio.run(check_database(uri))
        uris.append(uri)
    results = []
    for uri in uris:
        with closing(sqlite3.connect(uri)) as connection, connection:
            connection.execute(
                "INSERT INTO nodes (parent_id, key, path, structure_family, metadata, specs) "
                """VALUES (1, 'a', 'a', 'array', '{"color": "red"}', '[]')"""
            )
            results.append(
                [
                    connection.execute(f"SELECT * FROM {table}").fetchall()
                    for table in ("metadata_index", "node_counts", "key_counts")
                ]
            )
    assert results[0] == results[1]
    assert any(results[0])


def test_existing_files_are_left_to_the_migrations(tmp_path):
    path = tmp_path / "catalog.db"
    path.write_bytes(b"")
    assert not create_fresh_sqlite(path)
    assert path.read_bytes() == b""
    assert list(tmp_path.iterdir()) == [path]  # no partial file left behind


def test_serving_a_new_sqlite_catalog_loads_no_alembic(tmp_path):
    """Alembic's import and the migrations were ~0.1 s of each ``serve directory`` start."""
    code = (
        "import asyncio, sys\n"
        "from tiled.catalog import Catalog\n"
        "from tiled.catalog.database import initialize_database\n"
        "from tiled.server.app import build_app\n"
        "from tiled.server.settings import ServerSettings\n"
        f"uri = {str(tmp_path / 'catalog.db')!r}\n"
        "asyncio.run(initialize_database(uri))\n"
        "build_app(ServerSettings(catalog_uri=uri, api_key='k'))\n"
        "async def connect():\n"
        "    await (await Catalog.connect(uri)).close()\n"
        "asyncio.run(connect())\n"
        "print('alembic' in sys.modules)\n"
    )
    assert python_output(code) == "False"
