"""``tiled register URI DIR``: index a local directory into a running server over HTTP.

Walks and inspects locally (worker processes), sends nodes in batches through the bulk
registration endpoint, and is incremental: a second run re-opens no unchanged file and
removes nodes whose files are gone. Exits 1 when the server refused something (each
refusal is printed with its key path), 2 when the server could not be reached.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import typer

from ..registration.model import Put
from ..registration.sync import Summary
from .indexing import DEFAULT_CONCURRENCY, plan_options
from .progress import show_progress

API_KEY_ENV = "TILED_API_KEY"
EXIT_REFUSED = 1
EXIT_UNREACHABLE = 2


def register(
    uri: str = typer.Argument(..., help="The server, e.g. http://localhost:8000"),
    directory: Path = typer.Argument(..., help="The directory to register (walked recursively)"),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar=API_KEY_ENV, help=f"API key (default: ${API_KEY_ENV})"
    ),
    prefix: str = typer.Option("/", "--prefix", help="Register under this path on the server"),
    watch: bool = typer.Option(False, "--watch", "-w", help="Keep registering changes"),
    poll: float | None = typer.Option(
        None,
        "--poll",
        min=0.1,
        help="With --watch: poll every SECONDS (stat only) instead of inotify events, "
        "for network file systems",
    ),
    settle: float = typer.Option(
        2.0,
        "--settle",
        min=0,
        help="With --watch: register a file once unchanged for SECONDS and readable",
    ),
    reconcile: float = typer.Option(
        600.0,
        "--reconcile",
        min=0,
        help="With --watch: compare the whole tree (stat only) every SECONDS, 0 = never",
    ),
    concurrency: int = typer.Option(
        DEFAULT_CONCURRENCY, "--concurrency", min=1, help="Worker processes reading headers"
    ),
    keep_ext: bool = typer.Option(False, "--keep-ext", help="Keep file extensions in keys"),
    include_ext: list[str] = typer.Option(
        [], "--include-ext", help="Only files with this extension (repeatable, e.g. .csv)"
    ),
    ext: list[str] = typer.Option(
        [], "--ext", help="Read this extension as this mimetype, e.g. .tif=image/tiff"
    ),
    adapter: list[str] = typer.Option(
        [], "--adapter", help="A format reader to add: mimetype=package.module:Class"
    ),
    walker: str | None = typer.Option(
        None, "--walker", help="A custom grouping of files: package.module:function"
    ),
    mimetype_hook: str | None = typer.Option(
        None, "--mimetype-hook", help="Decides mimetypes: package.module:function(path)"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every skipped file"),
) -> None:
    """Register the files of DIRECTORY with the server at URI (incremental, batched)."""
    from .serve import load_adapters, watch_options

    _configure_logging(verbose)
    load_adapters(adapter)
    if not directory.is_dir():
        raise typer.BadParameter(f"{directory}: not a directory", param_hint="DIRECTORY")
    options = plan_options(
        directory,
        keep_ext=keep_ext,
        include_ext=include_ext,
        ext=ext,
        walker=walker,
        mimetype_hook=mimetype_hook,
    )
    watching = watch_options(watch, poll, settle, reconcile)
    prefix_path = tuple(part for part in prefix.split("/") if part)
    try:
        code = asyncio.run(
            _register(
                uri.rstrip("/"),
                api_key,
                prefix_path,
                directory.resolve(),
                options,
                concurrency,
                watching,
            )
        )
    except KeyboardInterrupt:  # the way to stop --watch
        code = 0
    raise typer.Exit(code)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log = logging.getLogger("tiled")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("tiled.registration.progress").setLevel(logging.INFO)


async def _register(
    uri: str,
    api_key: str | None,
    prefix: tuple[str, ...],
    directory: Path,
    options: object,
    concurrency: int,
    watching: Any = False,
) -> int:
    from ..registration.inspect import Inspector
    from ..registration.sinks.http import HttpSink, SinkAuthenticationError, SinkError
    from ..registration.state import IndexingState
    from ..registration.sync import synchronise

    state = IndexingState(str(directory))
    sink = HttpSink(uri, api_key, prefix)
    inspector = Inspector(concurrency, packed=True)  # the HTTP sink splices encoded nodes
    shown: asyncio.Task[None] | None = None
    try:
        await _ensure_prefix(uri, api_key, prefix)
        shown = asyncio.create_task(show_progress(state))
        if watching:
            await _watch(directory, sink, options, inspector, state, watching, uri, prefix)
            return 0
        summary = await synchronise(directory, sink, options, inspector=inspector, state=state)  # type: ignore[arg-type]
    except SinkAuthenticationError as err:
        print(f"Error: {err}", file=sys.stderr)
        return EXIT_REFUSED
    except SinkError as err:
        print(f"Error: could not reach the server at {uri}: {err}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except PrefixError as err:
        print(f"Error: {err}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await _finish(shown, inspector, sink)
    _print_summary(summary, uri, prefix)
    return EXIT_REFUSED if summary.refused else 0


async def _watch(
    directory: Path,
    sink: Any,
    options: Any,
    inspector: Any,
    state: Any,
    watching: Any,
    uri: str,
    prefix: tuple[str, ...],
) -> None:
    """The initial sync (watches set up first, so nothing written meanwhile is lost),
    its summary, then changes as they come, until interrupted."""
    from ..registration.watch import Watcher

    logging.getLogger("tiled.registration.watch").setLevel(logging.INFO)
    watcher = Watcher(directory, sink, options, inspector=inspector, state=state, watch=watching)
    watcher.synced = lambda summary: _print_summary(summary, uri, prefix)
    await watcher.run(initial_sync=True)


class PrefixError(Exception):
    """The --prefix path cannot be created on the server."""


async def _ensure_prefix(uri: str, api_key: str | None, prefix: tuple[str, ...]) -> None:
    """Create the containers of ``--prefix`` that the server lacks (a 409 means it has
    the node already; whether it is a container the listing then tells)."""
    from ..registration.sinks.http import HttpSink
    from ..registration.sync import container_entry

    if not prefix:
        return
    root = HttpSink(uri, api_key, ())
    try:
        for depth in range(1, len(prefix) + 1):
            (outcome,) = await root.apply([Put(container_entry(prefix[:depth]))])
            if not outcome.ok and outcome.status != 409:
                raise PrefixError(
                    f"Cannot create the prefix /{'/'.join(prefix[:depth])}: {outcome.message}"
                )
    finally:
        await root.close()


async def _finish(shown: asyncio.Task[None] | None, inspector: Any, sink: Any) -> None:
    # Not tiled.server.indexing's _close: importing the server package loads FastAPI
    # (0.2 s of CPU at the end of every run).
    if shown is not None:
        try:
            await asyncio.wait_for(shown, timeout=2)
        except (TimeoutError, asyncio.CancelledError):
            shown.cancel()
    await inspector.aclose()
    await sink.close()


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail"))
    except Exception:
        return str(response.text[:200])


def _print_summary(s: Summary, uri: str, prefix: tuple[str, ...]) -> None:
    where = f"{uri}/{'/'.join(prefix)}".rstrip("/")
    lines = [
        f"Registered {s.registered}, replaced {s.replaced}, unchanged {s.unchanged}, "
        f"removed {s.removed}, skipped {sum(s.skipped.values())} "
        f"({s.inspected} inspected, {s.files_seen} files) at {where} "
        f"in {s.seconds:.1f} s",
    ]
    if s.skipped:
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(s.skipped.items()))
        lines.append(f"Skipped by reason: {reasons}")
    for collision in s.collisions:
        lines.append(f"Key collision: {collision.path} ({collision.detail})")
    for outcome in s.refused:
        status = f" [{outcome.status}]" if outcome.status else ""
        lines.append(f"Refused {'/'.join(outcome.key_path)}{status}: {outcome.message}")
    print("\n".join(lines), file=sys.stderr, flush=True)
