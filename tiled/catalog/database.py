"""Catalog databases: URIs, engines and the schema's lifecycle (init, check, upgrade).

Alembic is imported only where a schema is migrated or a catalog is at another revision
than this tiled's: a new SQLite file is written from the recorded schema (fresh.py) and
the usual check reads the revision with one query, so a server starts without Alembic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..errors import (
    CatalogError,
    CatalogNotInitializedError,
    CatalogSchemaError,
    CatalogUnavailableError,
)
from .pool import PoolSettings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def mask_password(uri: str) -> str:
    """The URI with any password replaced, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*(@)", r"\1***\2", uri)


def to_async_uri(uri: str) -> str:
    """Accept a file path or a sqlite/postgresql URI; return the async SQLAlchemy URI."""
    if "://" not in uri:
        return f"sqlite+aiosqlite:///{Path(uri).expanduser().resolve()}"
    scheme, rest = uri.split("://", 1)
    scheme = scheme.lower()
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if scheme in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        return uri
    raise CatalogError(
        f"Cannot use {mask_password(uri)!r} as a catalog. Give a SQLite file path "
        "(catalog.db), sqlite:///path, or postgresql://user:password@host/database."
    )


def is_sqlite(uri: str) -> bool:
    return to_async_uri(uri).startswith("sqlite")


def _sqlite_file(uri: str) -> Path | None:
    database = make_url(to_async_uri(uri)).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    from .search.sqlite import register_functions

    register_functions(dbapi_connection)


def create_engine(uri: str, *, pool: PoolSettings | None = None) -> AsyncEngine:
    """An async engine; on SQLite every connection gets WAL, foreign keys and a busy timeout."""
    from .connections import install_sqlite_transactions

    async_uri = to_async_uri(uri)
    pool = pool or PoolSettings()
    options: dict[str, Any] = {
        # No pre-ping: on asyncpg it costs three round trips per checkout. A connection
        # killed by a database restart fails once and the pool is then renewed (see
        # connections.py); the restart test checks that service resumes.
        "pool_pre_ping": False,
        "pool_size": pool.size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout,
    }
    try:
        if async_uri.startswith("sqlite"):
            if _sqlite_file(uri) is None:  # in memory: one connection, no pool options
                options = {}
            engine = create_async_engine(async_uri, **options)
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
            install_sqlite_transactions(engine)
            return engine
        options["connect_args"] = {"timeout": pool.connect_timeout}
        return create_async_engine(async_uri, **options)
    except ArgumentError as err:
        raise CatalogError(f"Invalid catalog URI {mask_password(uri)!r}: {err}") from err


def sqlite_read_engine(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file as ``engine``, for whole reads run in
    a worker thread (see ``Connections.read``); None for PostgreSQL or an in-memory
    database (a second engine would open a different, empty one).

    Same pragmas, functions and deferred BEGIN as the async engine, and a pool of the
    same size, so a read never waits for a connection longer than an async one would.
    """
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    from .connections import install_sqlite_transactions

    pool: Any = engine.sync_engine.pool
    sync = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        pool_size=getattr(pool, "size", lambda: 5)(),
        max_overflow=max(0, getattr(pool, "_max_overflow", 5)),
        pool_timeout=getattr(pool, "_timeout", 5.0),
        connect_args={"check_same_thread": False},  # checked out in any pool thread
    )
    event.listen(sync, "connect", _on_sqlite_connect)
    install_sqlite_transactions(sync)
    return sync


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _stored_revisions(connection: Connection) -> list[str]:
    """The rows of alembic_version, read without Alembic (none when there is no table)."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _has_tables(connection: Connection) -> bool:
    return bool(inspect(connection).get_table_names())


async def _run(uri: str, func: Any) -> Any:
    engine = create_engine(uri)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(func)
    except (OperationalError, DBAPIError, OSError) as err:
        from .connections import unavailable_reason

        message = f"Cannot open the catalog {mask_password(uri)}: {getattr(err, 'orig', err)}"
        if unavailable_reason(err) is not None:
            raise CatalogUnavailableError(message) from err
        raise CatalogError(message) from err
    finally:
        await engine.dispose()


async def initialize_database(uri: str) -> None:
    """Create the schema (or bring it to the current revision); safe to repeat.

    A new SQLite file is written from the recorded schema (see fresh.py); anything else
    goes through the migrations.
    """
    path = _sqlite_file(uri) if is_sqlite(uri) else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        from .fresh import create_fresh_sqlite

        if create_fresh_sqlite(path):
            return
    await initialize_with_migrations(uri)


async def initialize_with_migrations(uri: str) -> None:
    """``initialize_database`` through Alembic only: the reference for new catalogs."""
    path = _sqlite_file(uri) if is_sqlite(uri) else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

    def initialize(connection: Connection) -> None:
        revision = _current_revision(connection)
        if revision is None and _has_tables(connection):
            raise CatalogError(
                f"{mask_password(uri)} holds tables but no tiled catalog; "
                "use an empty database for the catalog"
            )
        _check_known(uri, revision)
        _upgrade(connection)

    await _run(uri, initialize)


async def upgrade_database(uri: str) -> None:
    """Migrate an existing catalog to the current schema."""
    await _refuse_missing_file(uri)

    def upgrade(connection: Connection) -> None:
        revision = _current_revision(connection)
        if revision is None:
            raise _not_initialized(uri)
        _check_known(uri, revision)
        _upgrade(connection)

    await _run(uri, upgrade)


async def check_database(uri: str) -> None:
    """Raise a clear error unless the catalog exists at exactly this version's schema."""
    await _refuse_missing_file(uri)
    from .fresh import recorded_head

    stored = await _run(uri, _stored_revisions)
    if len(stored) == 1 and stored[0] == recorded_head():
        return  # the usual case, decided without importing Alembic
    revision = await _run(uri, _current_revision)
    if revision is None:
        raise _not_initialized(uri)
    _check_known(uri, revision)
    head = head_revision()
    if revision != head:
        raise CatalogSchemaError(
            f"The catalog {mask_password(uri)} has schema revision {revision}; this tiled needs "
            f"{head}. Back up the database, then run "
            f"`tiled catalog upgrade-database {mask_password(uri)}`."
        )


async def _refuse_missing_file(uri: str) -> None:
    if is_sqlite(uri):
        path = _sqlite_file(uri)
        if path is not None and not path.exists():
            raise _not_initialized(uri)


def _not_initialized(uri: str) -> CatalogNotInitializedError:
    shown = mask_password(uri)
    return CatalogNotInitializedError(
        f"{shown} holds no catalog. Start the server with --init, or run "
        f"`tiled catalog init {shown}`."
    )


def _check_known(uri: str, revision: str | None) -> None:
    if revision is None:
        return
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise CatalogSchemaError(
            f"The catalog {mask_password(uri)} has schema revision {revision}, which this "
            "version of tiled does not know: it was written by a newer tiled. Upgrade tiled."
        )
