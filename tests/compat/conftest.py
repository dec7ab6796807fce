"""Fixtures of the compatibility suite: the official client's environment, the data tree,
our server over real HTTP on SQLite and PostgreSQL, and the tree registered through the
official client itself."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tiled.testing import databases
from tiled.testing.server import run_server

from .official import EnvironmentSetupError, OfficialClient, ensure_official_client, run_script
from .official import client_versions as _client_versions
from .results import Results
from .tree import MANY, many_metadata, many_specs, write_tree

API_KEY = "secret"

# The official client retries every 5xx for up to 45 s; one retry keeps a server bug quick
# to see (the suite also fails on any 5xx, see ``Served.statuses``). Both are the client's
# documented environment settings, not changes to it.
CLIENT_ENV = {"TILED_RETRY_ATTEMPTS": "2", "TILED_RETRY_TIMEOUT": "5"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each module's tests on one xdist worker (its scripts run once per module)."""
    for item in items:
        if "tests/compat/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.xdist_group(f"compat-{item.path.stem}"))
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session", params=_client_versions(), ids=lambda v: f"tiled-{v}")
def official(request: pytest.FixtureRequest) -> OfficialClient:
    try:
        return ensure_official_client(request.param)
    except EnvironmentSetupError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="session")
def compat_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compat")
    write_tree(root)
    return root


class AccessRecorder(logging.Handler):
    """Collects (method, path, status) of every request our server answers."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 5:
            self.lines.append((str(args[1]), str(args[2]), int(args[4])))  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def access_log() -> Iterator[AccessRecorder]:
    recorder = AccessRecorder()
    logger = logging.getLogger("tiled.access")
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(recorder)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(previous)


@dataclass
class Served:
    """Our server (key-protected, plus a public twin on the same catalog) and its tree."""

    url: str
    public_url: str
    dialect: str
    root: Path
    official: OfficialClient
    access: AccessRecorder
    setup: Results
    context: dict[str, Any] = field(default_factory=dict)

    def run(self, script: str, workdir: Path, **extra: Any) -> Results:
        """Run a driver script against this server; fail on any 5xx it caused."""
        start = len(self.access.lines)
        values = {**self.context, **extra}
        raw = run_script(self.official, script, values, workdir, env=CLIENT_ENV)
        failures = [line for line in self.access.lines[start:] if line[2] >= 500]
        return Results(raw, failures)


def _catalog_uri(request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
    if request.param == "sqlite":
        import asyncio

        from tiled.catalog.database import initialize_database

        uri = str(tmp / "catalog.db")
        asyncio.run(initialize_database(uri))
        yield uri
        return
    template = request.getfixturevalue("postgres_template")
    with databases.fresh_database(template) as uri:
        yield uri


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest,
    official: OfficialClient,
    compat_root: Path,
    access_log: AccessRecorder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """Our server over the tree, registered by the official client's ``setup`` script."""
    tmp = tmp_path_factory.mktemp(f"served-{request.param}")
    for uri in _catalog_uri(request, tmp):
        readable = [compat_root]
        with (
            run_server(uri, readable=readable, api_key=API_KEY) as url,
            run_server(uri, readable=readable, api_key=API_KEY, public=True, init=False) as pub,
        ):
            context = {
                "url": url,
                "public_url": pub,
                "api_key": API_KEY,
                "data": str(compat_root / "data"),
                "example": str(compat_root / "example"),
                "many": [
                    {"key": f"n{i:03d}", "metadata": many_metadata(i), "specs": many_specs(i)}
                    for i in range(MANY)
                ],
            }
            served = Served(
                url, pub, request.param, compat_root, official, access_log, Results({}, []), context
            )
            served.setup = served.run("setup", tmp / "setup")
            if "value" in served.setup.raw.get("documented_example", {}):
                served.context["example_key"] = served.setup.value("documented_example")
            yield served


def xfail_when(request: pytest.FixtureRequest, condition: bool, reason: str) -> None:
    """Mark the running test as a known, strict failure (it must start passing on a fix)."""
    if condition:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
