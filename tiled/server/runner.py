"""Running the server: one process, or N worker processes sharing one port.

uvicorn starts each worker in a fresh interpreter, so workers cannot be handed an app
object: they build it from the environment (``app.app_from_environment``). The settings
travel as JSON and the API key in its own variable; neither appears in a command line.
With several workers, Prometheus metrics are shared through a temporary directory.
"""

from __future__ import annotations

import contextlib
import logging.config
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..catalog.database import is_sqlite
from ..errors import CatalogError
from .access_log import logging_config
from .metrics import MULTIPROCESS_ENV
from .settings import ServerSettings, settings_to_environment

APP_FACTORY = "tiled.server.app:app_from_environment"
STARTUP_FAILURE = 3  # uvicorn's exit status when it cannot start


def check_workers(settings: ServerSettings) -> None:
    """Refuse setups where several workers could not share the catalog correctly."""
    if settings.workers > 1 and is_sqlite(settings.catalog_uri):
        from sqlalchemy.engine import make_url

        from ..catalog.database import to_async_uri

        database = make_url(to_async_uri(settings.catalog_uri)).database
        if not database or database == ":memory:":
            raise CatalogError(
                "An in-memory SQLite catalog cannot be shared by several workers; give a "
                "catalog file or a PostgreSQL URI, or run one worker"
            )


@contextmanager
def shared_metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, a fresh multiprocess directory for prometheus-client."""
    if workers == 1 or os.environ.get(MULTIPROCESS_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="tiled-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def serve(
    settings: ServerSettings,
    host: str,
    port: int,
    *,
    verbose: bool = False,
    log_format: str = "text",
) -> None:
    """Serve until interrupted, with ``settings.workers`` processes."""
    import uvicorn

    check_workers(settings)
    log_config = logging_config(verbose=verbose, log_format=log_format)
    logging.config.dictConfig(log_config)
    os.environ.update(settings_to_environment(settings))
    with shared_metrics_directory(settings.workers):
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            log_config=log_config,
            access_log=False,  # ours masks secrets; uvicorn's would print ?api_key=
            ws="none",  # no WebSocket routes (out of the spec's scope): skip importing them
            timeout_graceful_shutdown=5,
            timeout_keep_alive=5,
            # A worker busy with a large read must not be taken for hung and killed.
            timeout_worker_healthcheck=30,
        )


def serve_app(
    app: Any,
    host: str,
    port: int,
    *,
    verbose: bool = False,
    log_format: str = "text",
) -> None:
    """Serve an app built in this process (one worker), until interrupted.

    ``serve directory`` needs this: its app carries the indexing service, which cannot
    travel to a fresh worker interpreter through the environment. ``app.state.listening``
    is set once the socket listens, so that the service starts its work (and its worker
    processes) only then: the first request does not wait for them.
    """
    import asyncio

    import uvicorn

    log_config = logging_config(verbose=verbose, log_format=log_format)
    logging.config.dictConfig(log_config)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config,
        access_log=False,
        ws="none",  # no WebSocket routes: skip importing a WebSocket library (~15 ms)
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
    )
    app.state.listening = asyncio.Event()
    server = _listening_server(config, app.state.listening)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:  # as uvicorn.run: the port was taken, or the lifespan failed
        sys.exit(STARTUP_FAILURE)


def _listening_server(config: Any, listening: Any) -> Any:
    """A ``uvicorn.Server`` that sets ``listening`` once its socket accepts connections."""
    import uvicorn

    class ListeningServer(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                listening.set()

    return ListeningServer(config)
