"""Planned nodes into registrable nodes, by reading headers in worker processes.

:func:`inspect_planned` is pure and picklable: it opens the file(s) of one Planned with the
format's adapter (headers only) and returns a :class:`~.model.NodeEntry` or a
:class:`~.model.Skipped` naming the file and the reason ("incomplete", "corrupt",
"unreadable", "unrecognised", "inconsistent-sequence"); it never raises for a bad file.

:class:`Inspector` runs it in a process pool (h5py and some codecs are not thread-safe,
and decoding headers is CPU work the GIL would serialise), in chunks of several items per
task to amortise the cost of pickling, with a bounded number of chunks in flight so a
network file system is not flooded. Workers start by ``forkserver`` (``spawn`` where
that is missing): forking the threaded server process itself would be unsafe.

Metadata is made JSON-safe (non-finite floats become ``"nan"``/``"inf"`` strings, bytes
become text) and list values with more than :data:`MAX_METADATA_LIST` elements are
dropped from the top level of a node's metadata: TIFF tags such as ``StripOffsets``,
``StripByteCounts`` or ``TileOffsets`` hold one number per strip or tile, which is bloat in
a catalog, not information.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import pickle
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ..adapters import registry
from ..adapters.attributes import json_safe
from ..adapters.sequences import FrameSequenceAdapter
from ..catalog.records import AssetStat
from ..errors import (
    DataBusyError,
    DataGoneError,
    DataUnavailableError,
    UnsupportedMimetypeError,
)
from ..structures.core import StructureFamily
from ..structures.data_source import Asset, DataSource, Management
from .encoding import pack_entry
from .model import NodeEntry, PackedEntry, Planned, PlannedContainer, Skipped

__all__ = [
    "MAX_METADATA_LIST",
    "RECENT_SECONDS",
    "Inspector",
    "container_entry",
    "inspect_planned",
]

logger = logging.getLogger(__name__)

MAX_METADATA_LIST = 64
RECENT_SECONDS = 10.0  # files modified more recently may still be being written
# Planned items per task: amortises the pool's per-task cost (pickling, pipes, thread
# hand-offs: about 95 us of the parent's CPU an item at 16, 50 us at 64, measured on small
# files) without starving a core; a chunk goes out early when nothing more is ready.
_CHUNK = 64
_IN_FLIGHT_PER_WORKER = 2  # chunks queued per worker: keeps it busy, bounds I/O
_PRELOAD = [
    "tiled.registration.inspect",
    "tiled.adapters.tiff",
    "tiled.adapters.npy",
    "tiled.adapters.images",
    "tiled.adapters.hdf5",
    "tiled.adapters.csv",
    "h5py",
    "tifffile",
]


def container_entry(container: PlannedContainer) -> NodeEntry:
    """The node a plain directory becomes: an empty container with no data source."""
    return NodeEntry(
        key_path=container.key_path,
        structure_family=StructureFamily.container,
        metadata={},
        specs=[],
        data_sources=[],
    )


def inspect_planned(planned: Planned, *, check_complete: bool | None = None) -> NodeEntry | Skipped:
    """Read the headers of ``planned``'s file(s): the node to register, or why not.

    Formats that offer a completeness check (registry.check_complete) are checked first,
    so that a file still being written is "incomplete" rather than registered
    half-written: always with ``check_complete=True``, never with False, and by default
    (None) only when a file was modified less than :data:`RECENT_SECONDS` ago (a file
    left alone longer is not being written; the check would double the cost of opening).
    """
    paths = [state.path for state in planned.files]
    if check_complete is None:
        check_complete = _recent(planned)
    try:
        if check_complete:
            reason = registry.check_complete(planned.mimetype, paths)
            if reason:
                return _skipped(planned, "incomplete", f"{paths[0].parent}/{reason}")
        adapter = registry.open_adapter(planned.mimetype, paths, parameters=planned.parameters)
        family = StructureFamily(adapter.structure_family)
        structure = adapter.structure()
        if isinstance(adapter, FrameSequenceAdapter):
            inconsistent = _inconsistent_frame(adapter, paths)
            if inconsistent is not None:
                return _skipped(planned, "inconsistent-sequence", inconsistent)
        metadata = clean_metadata(adapter.metadata())
        specs = list(adapter.specs())
    except Exception as err:  # any failure of a reader on a bad file is an outcome
        if len(paths) > 1 and not isinstance(err, _FrameError):
            err = _culprit(planned, paths) or err
        return _failure(planned, err)
    uris = [state.data_uri for state in planned.files]  # each computed once (as_uri)
    assets = [
        Asset(
            data_uri=uris[num],
            is_directory=state.is_directory,
            parameter=planned.parameter,
            num=num if planned.parameter == "data_uris" else None,
            size=state.size,
        )
        for num, state in enumerate(planned.files)
    ]
    source = DataSource(
        structure_family=family,
        structure=structure,
        mimetype=planned.mimetype,
        parameters=dict(planned.parameters),
        assets=assets,
        management=Management.external,
    )
    return NodeEntry(
        key_path=planned.key_path,
        structure_family=family,
        metadata=metadata,
        specs=specs,
        data_sources=[source],
        stats={
            uri: AssetStat(size=s.size, mtime_ns=s.mtime_ns)
            for uri, s in zip(uris, planned.files, strict=True)
        },
    )


def _recent(planned: Planned) -> bool:
    horizon = time.time_ns() - int(RECENT_SECONDS * 1e9)
    return any(state.mtime_ns > horizon for state in planned.files)


def _inconsistent_frame(adapter: FrameSequenceAdapter, paths: list[Path]) -> str | None:
    """A message naming the first frame whose shape or dtype differs from the first's."""
    shape, dtype = adapter._frame_layout(paths[0])
    for path in paths[1:]:
        try:
            other_shape, other_dtype = adapter._frame_layout(path)
        except Exception as err:
            raise _FrameError(path, err) from err
        if other_shape != shape or other_dtype != dtype:
            return (
                f"{path}: frame of shape {list(other_shape)} and dtype {other_dtype}, but "
                f"the first frame {paths[0].name} has shape {list(shape)} and dtype {dtype}"
            )
    return None


def _culprit(planned: Planned, paths: list[Path]) -> _FrameError | None:
    """Which file of a failed multi-file node is at fault, by checking each alone."""
    for path in paths:
        try:
            registry.check_complete(planned.mimetype, [path])
            adapter = registry.open_adapter(planned.mimetype, [path], parameters=planned.parameters)
            if isinstance(adapter, FrameSequenceAdapter):
                adapter._frame_layout(path)
            else:
                adapter.structure()
        except Exception as err:
            return _FrameError(path, err)
    return None


class _FrameError(Exception):
    """A frame of a sequence could not be read; carries which one."""

    def __init__(self, path: Path, err: Exception) -> None:
        super().__init__(str(err))
        self.path = path
        self.error = err


def clean_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` JSON-safe, without top-level lists longer than MAX_METADATA_LIST."""
    cleaned = {}
    for key, value in json_safe(metadata or {}).items():
        if isinstance(value, list) and len(value) > MAX_METADATA_LIST:
            continue
        cleaned[key] = value
    return cleaned


def _skipped(planned: Planned, reason: Any, detail: str, path: Path | None = None) -> Skipped:
    return Skipped(
        path=path or planned.files[0].path, reason=reason, detail=detail, key_path=planned.key_path
    )


def _failure(planned: Planned, err: BaseException) -> Skipped:
    path = planned.files[0].path
    if isinstance(err, _FrameError):
        path, err = err.path, err.error
    message = f"{path}: {err}" if str(err) else f"{path}: {type(err).__name__}"
    if isinstance(err, UnsupportedMimetypeError):
        return _skipped(planned, "unrecognised", message, path)
    if isinstance(err, DataBusyError):
        return _skipped(planned, "incomplete", message, path)
    missing = isinstance(err, FileNotFoundError) or (
        isinstance(err, DataGoneError) and "is missing" in str(err)
    )
    denied = isinstance(err, PermissionError) or (
        isinstance(err, DataUnavailableError) and not isinstance(err, DataGoneError)
    )
    if missing or denied or (isinstance(err, OSError) and not isinstance(err, ValueError)):
        return _skipped(planned, "unreadable", message, path)
    return _skipped(planned, "corrupt", message, path)


def _inspect_chunk(
    chunk: list[Planned], check_complete: bool | None, packed: bool = False
) -> list[NodeEntry | PackedEntry | Skipped]:
    # One format after another (then back in order): interleaving format libraries in a
    # worker measured markedly slower than running each library's files together.
    order = sorted(range(len(chunk)), key=lambda i: chunk[i].mimetype)
    results: list[Any] = [None] * len(chunk)
    for i in order:
        result = inspect_planned(chunk[i], check_complete=check_complete)
        if packed and isinstance(result, NodeEntry):
            result = pack_entry(result)
        results[i] = result
    return results


def _install_adapters(adapters: dict[str, bytes]) -> None:
    """Worker initializer: the adapters the parent registered at run time (``--adapter``)."""
    for mimetype, pickled in adapters.items():
        try:
            registry.register_adapter(mimetype, pickle.loads(pickled))
        except Exception as err:  # one adapter a worker cannot import must not stop it
            logger.warning(
                "Worker process %s cannot load the adapter for %s (%s); files of that "
                "format will be reported as unrecognised",
                os.getpid(),
                mimetype,
                err,
            )


def _runtime_adapters() -> dict[str, bytes]:
    """Adapters registered in this process beyond the built-ins, pickled for workers.

    Entry-point plug-ins load themselves in each worker; an adapter object that cannot be
    pickled (a lambda, a local class) stays in this process only, with a logged warning,
    and one a worker cannot import is skipped there (its files come back "unrecognised").
    """
    adapters = {}
    for mimetype, entry in registry._registry.items():
        builtin = registry._BUILTIN.get(mimetype)
        if entry == builtin or (
            builtin is not None and getattr(entry, "__module__", "").startswith("tiled.adapters")
        ):
            continue
        try:
            adapters[mimetype] = pickle.dumps(entry)
        except Exception as err:
            logger.warning(
                "The adapter for %s cannot be sent to worker processes (%s); register it "
                "as 'package.module:Class' so that workers can import it",
                mimetype,
                err,
            )
    return adapters


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class Inspector:
    """Inspect Planned nodes in parallel worker processes, in order, with bounded work.

    ``concurrency`` is the number of workers (default: the CPU count). Workers start on
    first use and stay up until :meth:`close` (keep one Inspector for many batches). A
    reader that crashes its worker costs only the file it was reading ("corrupt"), which
    is why even one worker is a process. ``in_process=True`` inspects in one thread of
    this process instead: no start-up cost, no isolation (for tests and debugging).
    ``check_complete`` is passed to :func:`inspect_planned`. ``packed=True`` (for the
    HTTP sink only) returns data nodes as :class:`~.model.PackedEntry`, encoded in the
    worker: smaller to send back, and nothing left to encode in this process. Use as
    ``async with Inspector() as inspector:`` or call :meth:`close`.

    Workers start by ``forkserver`` (or ``spawn``), which imports the main module of a
    script again in each worker: a script that uses an Inspector needs the usual
    ``if __name__ == "__main__":`` guard (console entry points such as ``tiled`` have it).
    """

    def __init__(
        self,
        concurrency: int | None = None,
        *,
        chunk_size: int = _CHUNK,
        check_complete: bool | None = None,
        in_process: bool = False,
        packed: bool = False,
    ) -> None:
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.packed = packed
        self.in_process = in_process
        self.chunk_size = max(1, chunk_size)
        self.check_complete = check_complete
        self._pool: concurrent.futures.Executor | None = None
        self._isolating = asyncio.Lock()

    # -- pool ---------------------------------------------------------------------------

    def _executor(self) -> concurrent.futures.Executor:
        if self._pool is None:
            if self.in_process:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "tiled-inspect")
            else:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    self.concurrency,
                    mp_context=_context(),
                    initializer=_install_adapters,
                    initargs=(_runtime_adapters(),),
                )
        return self._pool

    def start(self) -> None:
        """Start the worker processes now and wait until each answers (blocking: call it
        in a thread), so that the first files inspected do not wait for the pool."""
        pool = self._executor()
        if isinstance(pool, concurrent.futures.ProcessPoolExecutor):
            for future in [pool.submit(os.getpid) for _ in range(self.concurrency)]:
                future.result()

    def _reset(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the workers (waits for the chunks in progress)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> Inspector:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- work ---------------------------------------------------------------------------

    async def inspect(self, items: Iterable[Planned]) -> list[NodeEntry | PackedEntry | Skipped]:
        """Inspect every item; results in the order of ``items``."""
        return [result async for result in self.stream(items)]

    async def stream(
        self, items: AsyncIterable[Planned] | Iterable[Planned]
    ) -> AsyncIterator[NodeEntry | PackedEntry | Skipped]:
        """Results as they are ready, in the order of ``items``.

        Items are read from ``items`` only while fewer than ``concurrency x 2`` chunks are
        in flight, so a fast producer waits rather than queueing unbounded work. A chunk
        is sent as soon as the producer has nothing more ready (no waiting to fill it).
        """
        loop = asyncio.get_running_loop()
        limit = self.concurrency * _IN_FLIGHT_PER_WORKER
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.chunk_size * limit)
        end = object()
        producer = asyncio.create_task(_produce(items, queue, end))
        pending: deque[tuple[list[Planned], asyncio.Future[Any], Any]] = deque()
        getter: asyncio.Task[Any] | None = None
        exhausted = False
        try:
            while not exhausted or pending:
                if not exhausted and len(pending) < limit:
                    if getter is None:
                        getter = asyncio.ensure_future(queue.get())
                    waiting: set[asyncio.Future[Any]] = {getter}
                    if pending:
                        waiting.add(pending[0][1])
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        chunk, exhausted = _drain(getter.result(), queue, end, self.chunk_size)
                        getter = None
                        if chunk:
                            executor = self._executor()
                            future = loop.run_in_executor(
                                executor, _inspect_chunk, chunk, self.check_complete, self.packed
                            )
                            pending.append((chunk, future, executor))
                else:
                    await asyncio.wait({pending[0][1]})
                while pending and pending[0][1].done():
                    chunk, future, executor = pending.popleft()
                    for result in await self._results(chunk, future, executor):
                        yield result
            await producer  # surfaces the producer's own error, if any
        finally:
            if getter is not None:
                getter.cancel()
            producer.cancel()
            for _, future, _ in pending:
                future.cancel()

    async def _results(
        self, chunk: list[Planned], future: asyncio.Future[Any], executor: Any
    ) -> list[NodeEntry | PackedEntry | Skipped]:
        try:
            return future.result()
        except (BrokenProcessPool, asyncio.CancelledError):  # its pool died or was reset
            self._discard(executor)
            return await self._isolate(chunk)

    def _discard(self, executor: Any) -> None:
        """Replace the pool ``executor`` if it is still the current one (it broke)."""
        if self._pool is executor:
            self._reset()

    async def _isolate(self, chunk: list[Planned]) -> list[NodeEntry | PackedEntry | Skipped]:
        """A worker died (a reader crashed on some file): retry one item per task, twice
        at most, so the file that kills a worker is the only one reported."""
        results: list[NodeEntry | PackedEntry | Skipped] = []
        async with self._isolating:  # one suspect at a time, so none breaks another's run
            for planned in chunk:
                outcome = await self._alone(planned) or await self._alone(planned)
                results.append(
                    outcome
                    or _skipped(planned, "corrupt", f"{planned.files[0].path}: the reader crashed")
                )
        return results

    async def _alone(self, planned: Planned) -> NodeEntry | PackedEntry | Skipped | None:
        """Inspect one item on its own; None when the pool broke under it."""
        executor = self._executor()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            executor, _inspect_chunk, [planned], self.check_complete, self.packed
        )
        await asyncio.wait({future})  # our own cancellation raises here; the future's not
        try:
            return future.result()[0]
        except (BrokenProcessPool, asyncio.CancelledError):
            self._discard(executor)
            return None


async def _produce(
    items: AsyncIterable[Planned] | Iterable[Planned], queue: asyncio.Queue[Any], end: object
) -> None:
    """Feed ``queue`` from ``items``, then ``end`` (also after an error, which re-raises)."""
    try:
        if isinstance(items, AsyncIterable):
            async for item in items:
                await queue.put(item)
        else:
            for item in items:
                await queue.put(item)
    except asyncio.CancelledError:
        raise
    except BaseException:
        await queue.put(end)
        raise
    await queue.put(end)


def _drain(
    first: Any, queue: asyncio.Queue[Any], end: object, size: int
) -> tuple[list[Planned], bool]:
    """``first`` and whatever else is ready, up to ``size`` items; and whether it ended."""
    chunk: list[Planned] = []
    item = first
    while True:
        if item is end:
            return chunk, True
        chunk.append(item)
        if len(chunk) >= size:
            return chunk, False
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            return chunk, False
