"""``tiled serve catalog``: serve a persistent catalog over HTTP."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer

from ..catalog.pool import DEFAULT_CONNECTION_BUDGET
from ..server.settings import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    ServerSettings,
)
from .errors import reported_errors
from .indexing import DEFAULT_CONCURRENCY, plan_options

app = typer.Typer(help="Run a server.", no_args_is_help=True)

API_KEY_ENV = "TILED_SINGLE_USER_API_KEY"


# The official client only recognises keys matching ``\w+`` in its Authorization header;
# any other key is silently dropped and it refuses to connect ("requires API key").
_CLIENT_SAFE_KEY = re.compile(r"^\w+$")


def choose_api_key(given: str | None) -> tuple[str, bool]:
    """The key from --api-key, else the environment, else a fresh random one (True).

    Generated keys are hex so that every client, including the official one, can send them.
    """
    key = given or os.environ.get(API_KEY_ENV)
    if not key:
        return secrets.token_hex(32), True
    if not _CLIENT_SAFE_KEY.match(key):
        print(
            "Warning: the API key contains characters other than letters, digits and '_'; "
            "the official tiled client will not send such a key. Choose another one.",
            file=sys.stderr,
            flush=True,
        )
    return key, False


def announce_generated_key(key: str, host: str, port: int) -> None:
    shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    print(
        "\nNo --api-key was given, so this server generated one. Keep it secret:\n\n"
        f"    {key}\n\n"
        "Connect from Python with:\n\n"
        f"    from tiled.client import from_uri\n"
        f'    client = from_uri("http://{shown_host}:{port}", api_key="{key}")\n\n'
        "or set TILED_API_KEY in the environment.\n",
        file=sys.stderr,
        flush=True,
    )


def configure_logging(verbose: bool, log_format: str = "text") -> None:
    from ..server.access_log import logging_config

    logging.config.dictConfig(logging_config(verbose=verbose, log_format=log_format))


def watch_options(watch: bool, poll: float | None, settle: float, reconcile: float) -> Any:
    """``--watch`` with its ``--poll``, ``--settle`` and ``--reconcile`` (False: no watch)."""
    if not watch:
        if poll is not None:
            raise typer.BadParameter("--poll needs --watch", param_hint="--poll")
        return False
    from ..registration.watch import WatchOptions

    return WatchOptions(poll=poll or None, settle=settle, reconcile=reconcile or None)


def load_adapters(specs: list[str]) -> None:
    """Register each ``--adapter`` now, so that a typo stops the command with a message."""
    from ..adapters.registry import register_adapter_spec

    with reported_errors():
        for spec in specs:
            register_adapter_spec(spec)


def run_uvicorn(
    settings: ServerSettings,
    host: str,
    port: int,
    *,
    verbose: bool = False,
    log_format: str = "text",
) -> None:
    from ..server.runner import serve

    with reported_errors():
        serve(settings, host, port, verbose=verbose, log_format=log_format)


@app.command("catalog")
def serve_catalog(
    uri: str | None = typer.Argument(
        None, help="SQLite file (catalog.db) or postgresql://user:pass@host/db"
    ),
    read: list[Path] = typer.Option(
        [], "--read", "-r", help="A directory whose files may be registered (repeatable)"
    ),
    init: bool = typer.Option(False, "--init", help="Create the catalog schema if missing"),
    temp: bool = typer.Option(False, "--temp", help="Serve a throwaway catalog in a temp dir"),
    api_key: str | None = typer.Option(
        None, "--api-key", help=f"Single-user API key (default: ${API_KEY_ENV} or generated)"
    ),
    public: bool = typer.Option(False, "--public", help="Allow anonymous reads"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Server processes sharing the port and the catalog"
    ),
    db_connections: int = typer.Option(
        DEFAULT_CONNECTION_BUDGET,
        "--db-connections",
        min=1,
        help="Database connections for all workers together (each gets its share)",
    ),
    max_request_bytes: int = typer.Option(
        DEFAULT_MAX_REQUEST_BYTES, "--max-request-bytes", min=1, help="Larger bodies get 413"
    ),
    max_response_bytes: int = typer.Option(
        DEFAULT_MAX_RESPONSE_BYTES, "--max-response-bytes", min=1, help="Larger replies get 400"
    ),
    request_timeout: float = typer.Option(
        DEFAULT_REQUEST_TIMEOUT, "--request-timeout", min=0.001,
        help="Seconds until a response must start (else 503)",
    ),
    idle_timeout: float = typer.Option(
        DEFAULT_IDLE_TIMEOUT, "--idle-timeout", min=0.001,
        help="Seconds a client may send or read nothing before it is dropped",
    ),
    log_format: str = typer.Option("text", "--log-format", help="text or json (one per line)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more than requests"),
    adapter: list[str] = typer.Option(
        [], "--adapter",
        help="A format reader to add: mimetype=package.module:Class (repeatable)",
    ),
) -> None:  # fmt: skip
    """Serve a persistent catalog; only files inside the -r directories may be registered."""
    from ..catalog.database import check_database, initialize_database, mask_password

    configure_logging(verbose, log_format)
    load_adapters(adapter)  # here, so that a typo stops the command; workers load them again
    if temp == (uri is not None):
        raise typer.BadParameter("Give either a catalog URI or --temp, not both or neither")
    if temp:
        uri = str(Path(tempfile.mkdtemp(prefix="tiled-")) / "catalog.db")
        init = True
    assert uri is not None
    for directory in read:
        if not directory.is_dir():
            raise typer.BadParameter(f"-r {directory}: not a directory", param_hint="--read")
    with reported_errors():
        asyncio.run(initialize_database(uri) if init else check_database(uri))
    key, generated = choose_api_key(api_key)
    settings = ServerSettings(
        catalog_uri=uri,
        api_key=key,
        readable=tuple(read),
        public=public,
        workers=workers,
        connection_budget=db_connections,
        max_request_bytes=max_request_bytes,
        max_response_bytes=max_response_bytes,
        request_timeout=request_timeout,
        idle_timeout=idle_timeout,
        adapters=tuple(adapter),
    )
    if generated:
        announce_generated_key(key, host, port)
    print(
        f"Serving the catalog {mask_password(uri)} at http://{host}:{port}/api/v1 with "
        f"{workers} worker(s) (readable: {', '.join(map(str, settings.readable)) or 'none'})",
        file=sys.stderr,
        flush=True,
    )
    run_uvicorn(settings, host, port, verbose=verbose, log_format=log_format)


@app.command("demo")
def serve_demo(
    directory: Path = typer.Option(
        Path("example-data"), "--dir", help="Where to write the example files"
    ),
    api_key: str | None = typer.Option(None, "--api-key", help="API key (default: generated)"),
    public: bool = typer.Option(False, "--public", help="Allow anonymous reads"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request"),
) -> None:
    """Write a small tree of example files (TIFF, HDF5, CSV, ...), catalog it and serve it."""
    from ..demo import register_example_tree

    configure_logging(verbose)
    uri = str(Path(tempfile.mkdtemp(prefix="tiled-demo-")) / "catalog.db")
    with reported_errors():
        count = asyncio.run(register_example_tree(uri, directory.resolve()))
    print(f"Wrote and registered {count} example datasets in {directory}/", file=sys.stderr)
    key, generated = choose_api_key(api_key)
    settings = ServerSettings(catalog_uri=uri, api_key=key, readable=(directory,), public=public)
    if generated:
        announce_generated_key(key, host, port)
    run_uvicorn(settings, host, port, verbose=verbose)


@app.command("directory")
def serve_directory(
    directory: Path = typer.Argument(..., help="The directory to serve (walked recursively)"),
    watch: bool = typer.Option(
        False, "--watch", "-w", help="Keep the catalog in step with changes"
    ),
    poll: float | None = typer.Option(
        None, "--poll", min=0.1,
        help="With --watch: poll every SECONDS (stat only) instead of inotify events, "
        "for network file systems",
    ),
    settle: float = typer.Option(
        2.0, "--settle", min=0,
        help="With --watch: register a file once unchanged for SECONDS and readable",
    ),
    reconcile: float = typer.Option(
        600.0, "--reconcile", min=0,
        help="With --watch: compare the whole tree (stat only) every SECONDS, 0 = never",
    ),
    public: bool = typer.Option(False, "--public", help="Allow anonymous reads"),
    api_key: str | None = typer.Option(
        None, "--api-key", help=f"Single-user API key (default: ${API_KEY_ENV} or generated)"
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog",
        help="Keep the catalog in this SQLite file, so the next start only re-syncs "
        "(default: a temporary file deleted at exit)",
    ),
    concurrency: int = typer.Option(
        DEFAULT_CONCURRENCY, "--concurrency", min=1, help="Worker processes reading headers"
    ),
    keep_ext: bool = typer.Option(False, "--keep-ext", help="Keep file extensions in keys"),
    include_ext: list[str] = typer.Option(
        [], "--include-ext", help="Only files with this extension (repeatable, e.g. .csv)"
    ),
    ext: list[str] = typer.Option(
        [], "--ext", help="Read this extension as this mimetype, e.g. .tif=image/tiff (repeatable)"
    ),
    adapter: list[str] = typer.Option(
        [], "--adapter",
        help="A format reader to add: mimetype=package.module:Class (repeatable)",
    ),
    walker: str | None = typer.Option(
        None, "--walker", help="A custom grouping of files: package.module:function"
    ),
    mimetype_hook: str | None = typer.Option(
        None, "--mimetype-hook", help="Decides mimetypes: package.module:function(path) -> str|None"
    ),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    log_format: str = typer.Option("text", "--log-format", help="text or json (one per line)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every skipped file too"),
) -> None:  # fmt: skip
    """Serve a directory at once, indexing it in the background (nodes appear as found)."""
    from ..catalog.database import initialize_database
    from ..server.app import build_app
    from ..server.indexing import start_indexing
    from ..server.runner import serve_app
    from .progress import show_progress

    configure_logging(verbose, log_format)
    load_adapters(adapter)
    if not directory.is_dir():
        raise typer.BadParameter(f"{directory}: not a directory", param_hint="DIRECTORY")
    directory = directory.resolve()
    options = plan_options(
        directory,
        keep_ext=keep_ext,
        include_ext=include_ext,
        ext=ext,
        walker=walker,
        mimetype_hook=mimetype_hook,
    )
    temporary = None
    if catalog is None:
        temporary = Path(tempfile.mkdtemp(prefix="tiled-directory-"))
        catalog = temporary / "catalog.db"
    uri = str(catalog.resolve())
    try:
        with reported_errors():
            asyncio.run(initialize_database(uri))
        key, generated = choose_api_key(api_key)
        settings = ServerSettings(
            catalog_uri=uri,
            api_key=key,
            readable=(directory,),
            public=public,
            adapters=tuple(adapter),
        )
        server = build_app(settings)
        start_indexing(
            server,
            directory,
            options,
            concurrency=concurrency,
            watch=watch_options(watch, poll, settle, reconcile),
            reporter=show_progress,
        )
        if generated:
            announce_generated_key(key, host, port)
        print(
            f"Serving {directory} at http://{host}:{port}/api/v1 (catalog: "
            f"{'temporary' if temporary else catalog}); indexing in the background, "
            f"progress at http://{host}:{port}/api/v1/indexing",
            file=sys.stderr,
            flush=True,
        )
        # uvicorn re-raises SIGTERM once it has shut down; exit normally instead, so that
        # the temporary catalog below is deleted.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with reported_errors():
            serve_app(server, host, port, verbose=verbose, log_format=log_format)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
