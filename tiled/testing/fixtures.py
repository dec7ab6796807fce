"""pytest fixtures for catalogs on real SQLite and real PostgreSQL.

Load with ``pytest_plugins = ["tiled.testing.fixtures"]``. Without a reachable PostgreSQL,
its tests skip with a message, except under ``CI`` where they fail: CI must run them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import databases


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    if not databases.postgres_reachable():
        message = (
            f"PostgreSQL at {databases.admin_uri()} is not reachable; start it or set "
            "TILED_TEST_POSTGRES_URI"
        )
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so PostgreSQL tests must run)")
        pytest.skip(message)
    name = databases.create_template()
    try:
        yield name
    finally:
        databases.drop_database(name)


@pytest.fixture
def postgres_uri(postgres_template: str) -> Iterator[str]:
    """A fresh, initialised PostgreSQL catalog for one test."""
    with databases.fresh_database(postgres_template) as uri:
        yield uri


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """A fresh, initialised SQLite catalog file for one test."""
    from ..catalog.database import initialize_database

    uri = str(tmp_path / "catalog.db")
    asyncio.run(initialize_database(uri))
    return uri


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def catalog_uri(request: pytest.FixtureRequest) -> str:
    """A fresh, initialised catalog, once on SQLite and once on PostgreSQL."""
    name = "sqlite_uri" if request.param == "sqlite" else "postgres_uri"
    return str(request.getfixturevalue(name))
