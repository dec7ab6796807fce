"""Connections to the catalog database, with outages translated into domain errors here.

Every query of :class:`~tiled.catalog.Catalog` runs inside ``Connections.reading`` or
``Connections.writing``. A database that is down, restarting, out of connections or locked
surfaces as :class:`~tiled.errors.CatalogUnavailableError` (the server answers 503 with
Retry-After, at once) instead of a driver exception; nothing above this module needs
to know what asyncpg or sqlite3 raise. A connection found dead makes SQLAlchemy discard
every pooled connection opened before it, so service resumes by itself when the
database is back (a request or two per process meet a stale connection and get a 503).

On SQLite, write transactions start with ``BEGIN IMMEDIATE``: the write lock is taken
first, waiting for other writers up to the busy timeout, instead of failing when a
read transaction tries to upgrade after another process wrote (SQLITE_BUSY_SNAPSHOT).
That is what keeps several server processes on one SQLite file correct.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
from sqlalchemy import exc, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import CatalogUnavailableError

logger = logging.getLogger("tiled.catalog")
T = TypeVar("T")

RETRY_AFTER_SECONDS = 2
WRITE_OPTION = "tiled_write"
# SQLSTATE classes: 08 connection exception, 53 insufficient resources (too many
# connections, out of disk), 57P operator intervention (shutdown, cannot connect now).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_SQLITE_UNAVAILABLE = ("unable to open database", "disk i/o error", "readonly database")


def _sqlstate(error: BaseException) -> str | None:
    seen: BaseException | None = error
    for _ in range(4):  # the SQLAlchemy error, the adapted DBAPI error, the driver's error
        if seen is None:
            return None
        for name in ("sqlstate", "pgcode"):
            value = getattr(seen, name, None)
            if isinstance(value, str):
                return value
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def unavailable_reason(error: BaseException) -> str | None:
    """Why ``error`` means the database cannot serve right now, or None if it does not."""
    if isinstance(error, exc.TimeoutError):
        return "every catalog connection is in use (pool timeout)"
    if isinstance(error, (OSError, TimeoutError)):
        return f"cannot reach the catalog database ({error})"
    sqlstate = _sqlstate(error)
    if sqlstate is not None and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return f"the catalog database is unavailable (SQLSTATE {sqlstate})"
    if isinstance(error, exc.DBAPIError):
        message = str(getattr(error, "orig", error)).lower()
        if error.connection_invalidated or isinstance(error, exc.InterfaceError):
            return "the connection to the catalog database was lost"
        if any(text in message for text in _SQLITE_BUSY):
            return "the catalog database is locked by another writer"
        if any(text in message for text in _SQLITE_UNAVAILABLE):
            return f"the catalog database cannot be opened ({message})"
        if "connection" in message and ("closed" in message or "lost" in message):
            return "the connection to the catalog database was lost"
    return None


@asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Turn database outages raised inside the block into CatalogUnavailableError."""
    try:
        yield
    except (exc.SQLAlchemyError, OSError, TimeoutError) as err:
        reason = unavailable_reason(err)
        if reason is None:
            raise
        logger.warning("Catalog unavailable: %s: %r", reason, err)
        raise CatalogUnavailableError(
            f"The catalog is temporarily unavailable: {reason}. Try again shortly.",
            RETRY_AFTER_SECONDS,
        ) from err


class Connections:
    """Read and write connections to one engine, with outages translated."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        # A read is one snapshot: a lookup's statements (node, data sources, assets) must
        # not straddle a writer's commit, or a node replaced meanwhile reads as half old,
        # half new. On PostgreSQL that takes REPEATABLE READ (READ COMMITTED gives each
        # statement its own snapshot); on SQLite, a deferred BEGIN (see
        # install_sqlite_transactions). Read-only, so it never fails to serialise.
        self._read_engine = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if engine.dialect.name == "postgresql"
            else engine
        )
        from .database import sqlite_read_engine

        self._sqlite_reads = sqlite_read_engine(engine)
        self._read_threads: anyio.CapacityLimiter | None = None

    async def read(self, func: Callable[..., T], *args: Any) -> T:
        """``func(connection, *args)``: a whole read, synchronous, in one snapshot.

        On a SQLite file it runs in a worker thread on a connection of its own: one thread
        hand-off for the read, where aiosqlite takes several per statement (the main cost
        of a metadata request). Elsewhere it runs through ``AsyncConnection.run_sync``.
        """
        if self._sqlite_reads is None:
            async with self.reading() as conn:
                return await conn.run_sync(func, *args)
        if self._read_threads is None:
            pool: Any = self._sqlite_reads.pool
            self._read_threads = anyio.CapacityLimiter(pool.size() + max(0, pool._max_overflow))
        async with translated_errors():
            return await anyio.to_thread.run_sync(
                _read_in_thread, self._sqlite_reads, func, args, limiter=self._read_threads
            )

    @property
    def sync_engines(self) -> list[Engine]:
        """Every engine statements go through (for event listeners: tests, tracing)."""
        engines = [self.engine.sync_engine]
        return engines if self._sqlite_reads is None else [*engines, self._sqlite_reads]

    def close(self) -> None:
        """Close the connections of the SQLite read engine (the async engine's owner
        disposes of that one)."""
        if self._sqlite_reads is not None:
            self._sqlite_reads.dispose()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (its transaction, if any, is rolled back at the end)."""
        async with translated_errors(), self._read_engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction committed at the end of the block, all or nothing."""
        async with translated_errors(), self._write_engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        """One round trip to the database; raises CatalogUnavailableError when it is down."""
        async with self.reading() as conn:
            await conn.execute(text("SELECT 1"))


def _read_in_thread(engine: Engine, func: Callable[..., T], args: tuple[Any, ...]) -> T:
    with engine.connect() as conn:  # BEGIN (deferred) on the first statement: one snapshot
        return func(conn, *args)


def install_sqlite_transactions(engine: AsyncEngine | Engine) -> None:
    """Let SQLAlchemy, not the driver, begin transactions: IMMEDIATE for writes, a
    deferred one (a consistent WAL snapshot, no lock) for reads."""
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver starts no transaction itself

    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    event.listen(sync, "connect", on_connect)
    event.listen(sync, "begin", on_begin)
