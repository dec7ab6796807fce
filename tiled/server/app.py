"""Assembles the application: settings, catalog lifecycle, routes, error handling, limits,
metrics and the access log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import anyio
from fastapi import FastAPI

from .. import __version__
from ..catalog import Catalog
from ..catalog.database import create_engine
from ..errors import CatalogUnavailableError
from .access_log import AccessLogMiddleware
from .errors import install_error_handlers
from .limits import LimitsMiddleware
from .metrics import MetricsMiddleware, ServerMetrics
from .routes import (
    array,
    bulk,
    container,
    create,
    distinct,
    health,
    indexing,
    metadata,
    root,
    search,
    table,
)
from .settings import ServerSettings, settings_from_environment

logger = logging.getLogger("tiled.server")

Service = Callable[[FastAPI], AbstractAsyncContextManager[None]]
"""A background service: entered once the catalog is connected, exited at shutdown."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect to the catalog for the life of the process (checks the schema first), then
    start the background services (``app.state.services``, e.g. directory indexing)."""
    settings: ServerSettings = app.state.settings
    app.state.catalog = await _connect(settings)
    for engine in app.state.catalog.connections.sync_engines:
        app.state.metrics.watch_pool(engine)
    try:
        async with AsyncExitStack() as services:
            for service in app.state.services:
                await services.enter_async_context(service(app))
            yield
    finally:
        await app.state.catalog.close()
        app.state.metrics.process_exiting()


async def _connect(settings: ServerSettings) -> Catalog:
    """The catalog, checked; or, when a worker (re)starts while the database is down,
    unchecked: its requests get 503 until the database is back. (The command line
    checked the schema before starting any worker, and a worker that failed its start-up
    would make uvicorn stop every other worker.)"""
    try:
        return await Catalog.connect(settings.catalog_uri, init=settings.init, pool=settings.pool)
    except CatalogUnavailableError as err:
        if settings.init:
            raise
        logger.warning("%s; serving 503 until it answers", err.message)
        return Catalog(create_engine(settings.catalog_uri, pool=settings.pool))


def build_app(settings: ServerSettings) -> FastAPI:
    """A FastAPI app serving the catalog named in ``settings``."""
    app = FastAPI(
        title="tiled",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/v1/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.read_limiter = anyio.CapacityLimiter(settings.read_concurrency)
    app.state.metrics = ServerMetrics()
    app.state.services = []  # list[Service]: run beside the server for its lifetime
    app.state.indexing = None  # an IndexingState when the server indexes a directory
    app.state.listening = None  # an asyncio.Event set once serving, when the runner tells
    install_error_handlers(app)
    routers = (
        root,
        health,
        metadata,
        create,
        bulk,
        search,
        array,
        table,
        container,
        distinct,
        indexing,
    )
    for module in routers:
        app.include_router(module.router)
    # Outermost last: the access log and metrics also see what the limits refuse.
    app.add_middleware(LimitsMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(AccessLogMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker process (``--workers N``).

    A worker is a fresh interpreter: the ``--adapter`` readers the parent registered are
    registered again here.
    """
    from ..adapters.registry import register_adapter_spec

    settings = settings_from_environment()
    for spec in settings.adapters:
        register_adapter_spec(spec)
    return build_app(settings)
