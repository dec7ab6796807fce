"""Fixtures of the compatibility suite: the official client's environment, the data tree,
our server over real HTTP on SQLite and PostgreSQL, and the tree registered through the
official client itself."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tiled.catalog.database import initialize_database
from tiled.testing import databases
from tiled.testing.server import run_server

from .official import (
    EnvironmentSetupError,
    OfficialClient,
    ensure_official_client,
    reference_requested,
    run_script,
)
from .official import client_versions as _client_versions
from .reference import run_official_server
from .results import Results
from .tree import MANY, many_metadata, many_specs, write_tree

API_KEY = "secret"
OFFICIAL = "official"  # the "dialect" of Tiled's own server in the opt-in reference run

# The official client retries every 5xx for up to 45 s; one retry keeps a server bug quick
# to see (the suite also fails on any 5xx, see ``Served.run``). Both are the client's
# documented environment settings, not changes to it.
CLIENT_ENV = {"TILED_RETRY_ATTEMPTS": "2", "TILED_RETRY_TIMEOUT": "5"}


@pytest.hookimpl(tryfirst=True)  # before xdist turns the marker into a scheduling group
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each module's tests on one xdist worker (its scripts run once per module)."""
    for item in items:
        if "tests/compat/" in str(item.path).replace(os.sep, "/"):
            if item.config.pluginmanager.hasplugin("xdist"):
                item.add_marker(pytest.mark.xdist_group(f"compat-{item.path.stem}"))
            item.add_marker(pytest.mark.serial)
            # The first test may build the client's environment from PyPI (about a minute,
            # more on a slow network), or wait for the other worker building it.
            item.add_marker(pytest.mark.timeout(1500))


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


@contextmanager
def fresh_catalog(dialect: str, tmp: Path, postgres_template: str | None) -> Iterator[str]:
    """A new, initialised catalog: a SQLite file in ``tmp`` or a PostgreSQL database."""
    if dialect == "sqlite":
        uri = str(tmp / "catalog.db")
        asyncio.run(initialize_database(uri))
        yield uri
        return
    assert postgres_template is not None
    with databases.fresh_database(postgres_template) as uri:
        yield uri


class ServerPool:
    """Our servers, one pair per (client version, dialect), kept for the whole session.

    Test modules take turns over versions and dialects; a parametrised session fixture
    would be torn down and rebuilt (setup script included) at every turn.
    """

    def __init__(self, root: Path, access: AccessRecorder, tmp: pytest.TempPathFactory) -> None:
        self.root, self.access, self.tmp = root, access, tmp
        self.stack = ExitStack()
        self.servers: dict[tuple[str, str], Served] = {}

    def get(self, version: str, dialect: str, postgres_template: str | None) -> Served:
        if (version, dialect) not in self.servers:
            self.servers[version, dialect] = self._start(version, dialect, postgres_template)
        return self.servers[version, dialect]

    def _start(self, version: str, dialect: str, postgres_template: str | None) -> Served:
        official = _official(version, dialect)
        tmp = self.tmp.mktemp(f"served-{dialect}-{version}")
        url, public = self.stack.enter_context(
            server_pair(dialect, tmp, postgres_template, self.root, official)
        )
        context = {
            "url": url,
            "public_url": public,
            "api_key": API_KEY,
            "data": str(self.root / "data"),
            "example": str(self.root / "example"),
            "many": [
                {"key": f"n{i:03d}", "metadata": many_metadata(i), "specs": many_specs(i)}
                for i in range(MANY)
            ],
        }
        served = Served(
            url, public, dialect, self.root, official, self.access, Results({}, []), context
        )
        served.setup = served.run("setup", tmp / "setup")
        if "value" in served.setup.raw.get("documented_example", {}):
            served.context["example_key"] = served.setup.value("documented_example")
        return served


def _official(version: str, dialect: str) -> OfficialClient:
    try:
        return ensure_official_client(version, server=dialect == OFFICIAL)
    except EnvironmentSetupError as err:
        pytest.fail(str(err))


@contextmanager
def server_pair(
    dialect: str, tmp: Path, template: str | None, root: Path, official: OfficialClient
) -> Iterator[tuple[str, str]]:
    """A key-protected server and a public twin on one fresh catalog: ours, or Tiled's."""
    if dialect == OFFICIAL:
        catalog = tmp / "catalog.db"
        with (
            run_official_server(official, catalog, root, API_KEY) as url,
            run_official_server(official, catalog, root, API_KEY, public=True, init=False) as pub,
        ):
            yield url, pub
        return
    with (
        fresh_catalog(dialect, tmp, template) as uri,
        run_server(uri, readable=[root], api_key=API_KEY) as url,
        run_server(uri, readable=[root], api_key=API_KEY, public=True, init=False) as pub,
    ):
        yield url, pub


@pytest.fixture(scope="session")
def server_pool(
    compat_root: Path, access_log: AccessRecorder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    pool = ServerPool(compat_root, access_log, tmp_path_factory)
    with pool.stack:
        yield pool


def _server_params() -> list[Any]:
    params = []
    for version in _client_versions():
        params.append(pytest.param((version, "sqlite"), id=f"sqlite-tiled-{version}"))
        params.append(
            pytest.param(
                (version, "postgresql"),
                id=f"postgresql-tiled-{version}",
                marks=pytest.mark.postgres,
            )
        )
        if reference_requested():
            params.append(pytest.param((version, OFFICIAL), id=f"official-tiled-{version}"))
    return params


@pytest.fixture(scope="module", params=_server_params())
def served(request: pytest.FixtureRequest, server_pool: ServerPool) -> Served:
    """Our server over the tree, registered by the official client's ``setup`` script."""
    version, dialect = request.param
    template = request.getfixturevalue("postgres_template") if dialect == "postgresql" else None
    return server_pool.get(version, dialect, template)


def differs_on_tiled(request: pytest.FixtureRequest, served: Served, reason: str) -> None:
    """In the reference run, mark a documented difference of Tiled's own server."""
    xfail_when(request, served.dialect == OFFICIAL, f"Tiled 0.2.20 differs: {reason}")


def xfail_when(request: pytest.FixtureRequest, condition: bool, reason: str) -> None:
    """Mark the running test as a known, strict failure (it must start passing on a fix)."""
    if condition:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture(scope="module")
def blank(
    served: Served, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server on a fresh, empty catalog of the same dialect, for tests that write."""
    tmp = tmp_path_factory.mktemp(f"blank-{served.dialect}")
    template = (
        request.getfixturevalue("postgres_template") if served.dialect == "postgresql" else None
    )
    with server_pair(served.dialect, tmp, template, served.root, served.official) as (url, _):
        context = {**served.context, "url": url, "public_url": url}
        yield Served(
            url,
            url,
            served.dialect,
            served.root,
            served.official,
            served.access,
            Results({}, []),
            context,
        )
