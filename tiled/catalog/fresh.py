"""A new SQLite catalog written from the recorded schema, without Alembic.

Importing Alembic and running every migration on an empty file cost about 0.1 s of each
``tiled serve directory`` start, whose catalog is usually a new temporary file. The
schema and rows that the migrations produce on SQLite are recorded in
``sqlite_schema.py``, together with a digest of the migration scripts they came from.
A new file is written from that record with the standard library's sqlite3 only while
the digest still matches the scripts; otherwise (a migration was added or edited, and the
record not regenerated) Alembic creates it as before. Existing catalogs and PostgreSQL
always go through Alembic. ``tests/catalog/test_fresh_schema.py`` checks that both ways
give the same tables, indexes, triggers, rows and pragmas.

Regenerate the record after changing a migration::

    python -m tiled.catalog.fresh
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

VERSIONS = Path(__file__).parent / "migrations" / "versions"
RECORD = Path(__file__).parent / "sqlite_schema.py"


@functools.cache
def migrations_digest() -> str:
    """SHA-256 over the migration scripts' names and contents, in name order, and the
    helpers they share."""
    digest = hashlib.sha256()
    for script in [*sorted(VERSIONS.glob("*.py")), VERSIONS.parent / "helpers.py"]:
        digest.update(script.name.encode() + b"\0" + script.read_bytes() + b"\0")
    return digest.hexdigest()


def recorded_head() -> str | None:
    """The head revision of the record, or None when the record no longer matches the
    migration scripts (then only Alembic knows the schema)."""
    from . import sqlite_schema

    if migrations_digest() != sqlite_schema.MIGRATIONS_DIGEST:
        return None
    return sqlite_schema.REVISION


def create_fresh_sqlite(path: Path) -> bool:
    """Write a new catalog at ``path`` from the record; False (nothing written) when
    ``path`` exists, the record is stale or the file system cannot link files.

    The file is built under a temporary name and linked into place, so a concurrent
    start never sees a half-written catalog and never overwrites one.
    """
    if path.exists() or recorded_head() is None:
        return False
    from . import sqlite_schema

    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        with closing(sqlite3.connect(partial, isolation_level=None)) as connection:
            connection.execute("BEGIN")
            for statement in sqlite_schema.STATEMENTS:
                connection.execute(statement)
            connection.execute("COMMIT")
            connection.execute("PRAGMA journal_mode=WAL")
        if Path(f"{partial}-wal").exists():  # not checkpointed at close: do not move it
            return False
        os.link(partial, path)
        return True
    except (OSError, sqlite3.Error):  # created meanwhile by another process, no hard
        return False  # links here, or an unwritable directory: Alembic's way reports it
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)


# -- recording -----------------------------------------------------------------------


def _tables_of_kind(connection: sqlite3.Connection, kind: str) -> set[str]:
    """Tables of one kind: "shadow" (created by SQLite itself for a virtual table, such as
    FTS5's _data and _idx) or "virtual"."""
    return {row[1] for row in connection.execute("PRAGMA table_list") if row[2] == kind}


def _defaulted_columns(connection: sqlite3.Connection, table: str) -> set[str]:
    """Columns filled by a CURRENT_TIMESTAMP default: left out, so new rows get the
    time of their creation as in a migrated catalog."""
    return {
        row[1]
        for row in connection.execute(f'PRAGMA table_info("{table}")')
        if row[4] is not None and "CURRENT_TIMESTAMP" in row[4].upper()
    }


def record_statements(catalog: Path) -> list[str]:
    """The SQL that recreates a migrated, empty catalog: its tables, indexes and virtual
    tables in creation order, then their rows (triggers do not fire for them, as the
    migrations wrote them before creating the triggers), then the triggers."""
    with closing(sqlite3.connect(catalog)) as connection:
        shadows = _tables_of_kind(connection, "shadow")
        virtual = _tables_of_kind(connection, "virtual")  # its rows live in its shadows
        objects = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
        schema = [sql for kind, name, sql in objects if kind != "trigger" and name not in shadows]
        triggers = [sql for kind, _, sql in objects if kind == "trigger"]
        rows: list[str] = []
        for kind, table, _ in objects:
            if kind == "table" and table not in shadows | virtual:
                rows.extend(_insert_statements(connection, table))
    return schema + rows + triggers


def _insert_statements(connection: sqlite3.Connection, table: str) -> list[str]:
    skipped = _defaulted_columns(connection, table)
    cursor = connection.execute(f'SELECT * FROM "{table}"')
    columns = [d[0] for d in cursor.description]
    kept = [i for i, column in enumerate(columns) if column not in skipped]
    names = ", ".join(f'"{columns[i]}"' for i in kept)
    return [
        f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(_literal(row[i]) for i in kept)})'
        for row in cursor
    ]


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return repr(int(value) if isinstance(value, bool) else value)
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    return "'" + str(value).replace("'", "''") + "'"


def migrated_catalog(path: Path) -> Path:
    """An empty catalog at ``path``, created by running every migration through Alembic."""
    import asyncio

    from .database import initialize_with_migrations

    asyncio.run(initialize_with_migrations(str(path)))
    return path


def write_record() -> None:
    """Regenerate ``sqlite_schema.py`` from a catalog migrated by Alembic just now."""
    import tempfile

    from .database import head_revision

    with tempfile.TemporaryDirectory() as directory:
        statements = record_statements(migrated_catalog(Path(directory) / "catalog.db"))
    lines = [
        '"""The schema and rows of a new SQLite catalog, as the migrations create them.',
        "",
        "Generated by ``python -m tiled.catalog.fresh``; do not edit. See fresh.py.",
        '"""',
        "",
        "# fmt: off",
        "# ruff: noqa: E501",
        f"REVISION = {head_revision()!r}",
        f"MIGRATIONS_DIGEST = {migrations_digest()!r}",
        "STATEMENTS = (",
        *(f"    {statement!r}," for statement in statements),
        ")",
        "# fmt: on",
        "",
    ]
    RECORD.write_text("\n".join(lines))
    print(f"Wrote {RECORD} ({len(statements)} statements)")


if __name__ == "__main__":
    write_record()
