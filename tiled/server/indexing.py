"""Directory indexing as a background service of the server (``tiled serve directory``).

The server answers HTTP at once; the sync driver runs beside it in the same event loop,
writing to the catalog in-process (``CatalogSink``) with inspection in worker processes,
so nodes appear while the walk goes on. Its state is what ``GET /api/v1/indexing``
answers, and its counts feed the Prometheus indexing counters.

With ``watch`` (True, or a :class:`tiled.registration.watch.WatchOptions`), the watcher
sets up its watches first, then runs the initial sync and keeps the catalog in step with
the directory until shutdown (nothing created during the walk is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ..registration.state import IndexingState

logger = logging.getLogger("tiled.registration")

Reporter = Callable[[IndexingState], Awaitable[None]]


@dataclass(frozen=True)
class IndexingJob:
    """What to index and how: the directory, planning options and worker processes."""

    directory: Path
    options: Any  # tiled.registration.plan.PlanOptions
    concurrency: int
    watch: Any = False  # False, True or tiled.registration.watch.WatchOptions


def start_indexing(
    app: FastAPI,
    directory: Path,
    options: Any,
    *,
    concurrency: int,
    watch: Any = False,
    reporter: Reporter | None = None,
) -> IndexingState:
    """Index ``directory`` into the app's catalog in the background, once it starts.

    Returns the state that ``GET /api/v1/indexing`` will answer.
    """
    job = IndexingJob(Path(directory).resolve(), options, concurrency, watch)
    state = IndexingState(str(job.directory), listener=app.state.metrics.indexing.record)
    app.state.indexing = state

    @asynccontextmanager
    async def service(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_index(app, job, state), name="tiled-indexing")
        shown = asyncio.create_task(_report(app, reporter, state)) if reporter else None
        try:
            yield
        finally:
            for running in (task, shown):
                if running is not None:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await running

    app.state.services.append(service)
    return state


async def _index(app: FastAPI, job: IndexingJob, state: IndexingState) -> None:
    """The initial sync, then (with watch) the watcher; failures are logged, not raised,
    so the server keeps serving what was indexed. Starts once the server listens, when
    its runner tells (``runner.serve_app``): the first answer never waits for the walk
    or for the inspection workers' start."""
    await _listening(app)
    from ..registration.inspect import Inspector
    from ..registration.sinks import CatalogSink
    from ..registration.sync import synchronise

    settings = app.state.settings
    sink = CatalogSink(app.state.catalog, (), settings.readable)
    inspector = Inspector(job.concurrency)
    try:
        if job.watch:
            from ..registration.watch import WatchOptions, watch_directory

            watch = job.watch if isinstance(job.watch, WatchOptions) else WatchOptions()
            await watch_directory(
                job.directory,
                sink,
                job.options,
                inspector=inspector,
                state=state,
                watch=watch,
                initial_sync=True,
            )
            return
        summary = await synchronise(
            job.directory, sink, job.options, inspector=inspector, state=state
        )
        logger.info(
            "Indexed %s: %d registered, %d replaced, %d unchanged, %d removed, "
            "%s skipped in %.1f s",
            job.directory,
            summary.registered,
            summary.replaced,
            summary.unchanged,
            summary.removed,
            sum(summary.skipped.values()),
            summary.seconds,
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("Indexing %s failed; serving what was indexed so far", job.directory)
    finally:
        with contextlib.suppress(Exception):
            await _close(inspector)
        with contextlib.suppress(Exception):
            await sink.close()


async def _listening(app: FastAPI) -> None:
    """Return once the server listens, when its runner tells (else at once)."""
    if app.state.listening is not None:
        await app.state.listening.wait()


async def _report(app: FastAPI, reporter: Reporter, state: IndexingState) -> None:
    """The progress display, from when the server listens (a terminal's bar loads rich)."""
    await _listening(app)
    await reporter(state)


async def _close(inspector: Any) -> None:
    close = getattr(inspector, "aclose", None) or getattr(inspector, "close", None)
    if close is None:
        return
    result = close()
    if asyncio.iscoroutine(result):
        await result
