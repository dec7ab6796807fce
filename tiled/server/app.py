"""Assembles the application: settings, catalog lifecycle, routes, error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from .. import __version__
from ..catalog import Catalog
from .access_log import AccessLogMiddleware
from .errors import install_error_handlers
from .routes import array, create, distinct, metadata, root, search, table
from .settings import ServerSettings

logger = logging.getLogger("tiled.server")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect to the catalog for the life of the process (checks the schema first)."""
    settings: ServerSettings = app.state.settings
    app.state.catalog = await Catalog.connect(settings.catalog_uri, init=settings.init)
    try:
        yield
    finally:
        await app.state.catalog.close()


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
    install_error_handlers(app)
    for module in (root, metadata, create, search, array, table, distinct):
        app.include_router(module.router)
    app.add_middleware(AccessLogMiddleware)
    return app
