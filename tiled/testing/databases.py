"""Fresh PostgreSQL databases for tests, cloned from one migrated template per session."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URI = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_uri() -> str:
    return os.environ.get("TILED_TEST_POSTGRES_URI", DEFAULT_ADMIN_URI)


def _connect_kwargs(uri: str) -> dict[str, object]:
    url = make_url(uri)
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password,
        "database": url.database or "postgres",
    }


async def _execute(uri: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(**_connect_kwargs(uri), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_reachable() -> bool:
    import asyncpg

    try:
        asyncio.run(_execute(admin_uri(), "SELECT 1"))
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return False
    return True


def database_uri(name: str) -> str:
    return str(make_url(admin_uri()).set(database=name).render_as_string(hide_password=False))


def create_template() -> str:
    """A migrated, empty catalog database to clone; unique per test session (xdist-safe)."""
    from ..catalog.database import initialize_database

    name = f"tiled_template_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(admin_uri(), f'CREATE DATABASE "{name}"'))
    asyncio.run(initialize_database(database_uri(name)))
    return name


def drop_database(name: str) -> None:
    asyncio.run(_execute(admin_uri(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def fresh_database(template: str) -> Iterator[str]:
    """A new database cloned from ``template``; dropped afterwards. Yields its URI."""
    name = f"tiled_test_{uuid.uuid4().hex[:16]}"
    asyncio.run(_execute(admin_uri(), f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield database_uri(name)
    finally:
        drop_database(name)
