"""The indexing driver: make what a sink holds match a directory tree, doing only the work
the differences need. Shared by ``serve directory``, ``register`` and the watcher.

:func:`synchronise` loads what the sink holds (key path -> fingerprint), walks the tree in
a thread (streaming: nodes are written while the walk goes on), and for each node:

* fingerprint equal (same files, sizes, modification times) -> unchanged, never opened;
* otherwise inspected in the worker processes and written (``Put``, replacing the old
  node in one transaction when the key existed);
* containers are written only when missing (or when a file became a directory);
* after the walk, nodes the sink holds but the tree no longer has are removed (only the
  roots of removed subtrees; the sink removes what is below).

Changes go to the sink in batches, flushed by size or by time, in the order they were
decided, so a parent is always written before its children and nodes appear as they are
found. Skipped files are counted by reason and logged with their paths, never fatal.

Policy for a registered node whose file became unreadable, corrupt or incomplete: it is
**removed** (it could not be served correctly) and counted as skipped with the reason.
Its key reappears on the next sync once the file is whole again.

A key collision (two files mapping to one key) is reported by the planner as ``Skipped``
with reason ``"collision"`` for each file: neither is written, and an old node at that key
is removed, so no file silently wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..structures.core import StructureFamily
from .model import (
    Change,
    KeyPath,
    NodeEntry,
    Outcome,
    PackedEntry,
    Planned,
    PlannedContainer,
    Put,
    Registered,
    Remove,
    Sink,
    Skipped,
)
from .state import IndexingState

if TYPE_CHECKING:
    from .plan import DirectoryPlan, PlanOptions

logger = logging.getLogger("tiled.registration")

DEFAULT_BATCH_SIZE = 500
DEFAULT_FLUSH_INTERVAL = 0.25  # seconds: how long a found node may wait to be written
INSPECT_QUEUE = 1024  # planned nodes waiting for the inspector before the walk waits
WALK_BUFFER = 4096  # items the walking thread may be ahead of the event loop
QUIET_REASONS = frozenset({"hidden", "excluded-extension"})  # logged at debug level only
ROUTINE_REASONS = frozenset({"unrecognised", "symlink-outside", "symlink-cycle"})  # info

WalkItem = PlannedContainer | Planned | Skipped


class SupportsInspect(Protocol):
    """What the driver needs of :class:`tiled.registration.inspect.Inspector`."""

    def start(self) -> None:
        """Start the workers (blocking)."""
        ...

    def stream(
        self, items: AsyncIterable[Planned]
    ) -> AsyncIterator[NodeEntry | PackedEntry | Skipped]:
        """Results in the order of ``items``, reading ahead a bounded amount."""
        ...


@dataclass
class Summary:
    """What one sync did. ``refused`` lists the sink's refusals (key path + message)."""

    registered: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    inspected: int = 0  # nodes whose files were opened
    files_seen: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    refused: list[Outcome] = field(default_factory=list)
    collisions: list[Skipped] = field(default_factory=list)
    new_directories: list[tuple[Path, KeyPath]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, object]:
        return {
            "registered": self.registered,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "inspected": self.inspected,
            "files_seen": self.files_seen,
            "skipped": dict(sorted(self.skipped.items())),
            "refused": [
                {"key": "/".join(o.key_path), "message": o.message, "status": o.status}
                for o in self.refused
            ],
            "seconds": round(self.seconds, 3),
        }


def container_entry(key_path: KeyPath) -> NodeEntry:
    """The node a plain directory becomes: an empty container."""
    return NodeEntry(key_path, StructureFamily.container, {}, [], [])


async def load_registered(sink: Sink) -> dict[KeyPath, Registered]:
    """Everything the sink holds under its prefix, by key path."""
    return {item.key_path: item async for item in sink.registered()}


async def synchronise(
    root: Path,
    sink: Sink,
    options: PlanOptions,
    *,
    inspector: SupportsInspect,
    state: IndexingState | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    registered: Mapping[KeyPath, Registered] | None = None,
) -> Summary:
    """Make the sink hold exactly what ``root`` calls for; returns what was done.

    ``options`` is a :class:`tiled.registration.plan.PlanOptions`. ``registered`` may be
    given when the caller already loaded it (the watcher does).
    """
    from .plan import walk

    state = state if state is not None else IndexingState(str(root))
    state.begin()
    run = _Run(sink, inspector, state, batch_size, flush_interval)
    try:
        held = dict(registered) if registered is not None else await load_registered(sink)
        await run.process(_threaded(lambda: walk(root, options)), held)
    except BaseException as err:
        state.finish(error=f"{type(err).__name__}: {err}" if isinstance(err, Exception) else None)
        raise
    state.finish()
    return run.summary


async def resync_directory(
    directory: Path,
    key_path: KeyPath,
    sink: Sink,
    options: PlanOptions,
    inspector: SupportsInspect,
    registered_subset: Mapping[KeyPath, Registered],
    *,
    state: IndexingState | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Summary:
    """Re-sync ONE directory, non-recursively: its direct children only.

    ``registered_subset`` is what the sink holds for the direct children of ``key_path``
    (key path -> Registered). Changed or new files are inspected and written, unchanged
    ones are not opened, children whose files are gone are removed (with their
    subtrees). New subdirectories are written as containers and listed in
    ``Summary.new_directories`` for the caller (the watcher) to walk; existing
    subdirectories are left alone.
    """
    from .plan import plan_directory

    state = state if state is not None else IndexingState(str(directory))
    state.begin()
    run = _Run(sink, inspector, state, batch_size, DEFAULT_FLUSH_INTERVAL)
    try:
        plan = await asyncio.to_thread(plan_directory, directory, key_path, options)
        await run.process(_async_list(_plan_items(plan)), dict(registered_subset))
    except BaseException as err:
        state.finish(error=f"{type(err).__name__}: {err}" if isinstance(err, Exception) else None)
        raise
    state.finish()
    return run.summary


def _plan_items(plan: DirectoryPlan) -> list[WalkItem]:
    """The items of a :class:`DirectoryPlan`, containers first."""
    items: list[WalkItem] = []
    items.extend(plan.containers)
    items.extend(plan.entries)
    items.extend(plan.skipped)
    return items


async def _async_list(items: Iterable[WalkItem]) -> AsyncIterator[list[WalkItem]]:
    yield list(items)


class _WalkThread:
    """Runs a blocking generator in a thread and hands its items over as they come.

    Items collect in a buffer that the event loop empties whenever it gets to it: one
    wake-up per batch, not per item, yet nothing waits for a batch to fill (a directory
    that is slow to list never holds back what was found before it). The buffer is
    bounded, so a walk far ahead of the writer waits and memory stays flat; if the
    consumer stops early, the thread notices and ends.
    """

    def __init__(self, make: Callable[[], Iterable[WalkItem]]) -> None:
        self.make = make
        self.loop = asyncio.get_running_loop()
        self.ready = asyncio.Event()
        self.lock = threading.Condition()
        self.buffer: list[WalkItem] = []
        self.finished = False
        self.stopped = False
        self.error: BaseException | None = None

    def _wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.ready.set)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.stopped = True

    def produce(self) -> None:
        try:
            for item in self.make():
                with self.lock:
                    while len(self.buffer) >= WALK_BUFFER and not self.stopped:
                        self.lock.wait(1)
                    if self.stopped:
                        return
                    self.buffer.append(item)
                    first = len(self.buffer) == 1
                if first:
                    self._wake()
        except BaseException as err:  # handed to the consumer, raised there
            self.error = err
        finally:
            with self.lock:
                self.finished = True
            self._wake()

    async def chunks(self) -> AsyncIterator[list[WalkItem]]:
        try:
            while True:
                await self.ready.wait()
                with self.lock:
                    self.ready.clear()
                    items, self.buffer = self.buffer, []
                    finished, error = self.finished, self.error
                    self.lock.notify_all()
                if items:
                    yield items
                if finished:
                    if error is not None:
                        raise error
                    return
        finally:
            with self.lock:
                self.stopped = True
                self.lock.notify_all()


async def _threaded(make: Callable[[], Iterable[WalkItem]]) -> AsyncIterator[list[WalkItem]]:
    """The items of the blocking generator ``make()``, walked in a thread, in chunks."""
    walker = _WalkThread(make)
    threading.Thread(target=walker.produce, name="tiled-walk", daemon=True).start()
    async for chunk in walker.chunks():
        yield chunk


class _Run:
    """One sync: decides the changes, feeds the inspector, flushes batches to the sink."""

    def __init__(
        self,
        sink: Sink,
        inspector: SupportsInspect,
        state: IndexingState,
        batch_size: int,
        flush_interval: float,
    ) -> None:
        self.sink = sink
        self.inspector = inspector
        self.state = state
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.summary = Summary()
        self.pending: list[Change] = []
        self.pending_since: float | None = None
        self.replacing: set[KeyPath] = set()
        self.removing: set[KeyPath] = set()  # key paths of Remove changes: a 404 is fine
        self.to_inspect: asyncio.Queue[Planned | None] = asyncio.Queue(INSPECT_QUEUE)
        self.in_flight: deque[Planned] = deque()  # sent to the inspector, in order
        self.flush_lock = asyncio.Lock()

    async def process(
        self,
        chunks: AsyncIterator[list[WalkItem]],
        registered: dict[KeyPath, Registered],
    ) -> None:
        """Consume walk chunks; afterwards remove what ``registered`` has and the walk had not."""
        self.registered = registered
        seen: set[KeyPath] = set()
        flusher = asyncio.create_task(self._flush_periodically())
        inspecting = self._inspecting = asyncio.create_task(self._inspect_all())
        try:
            async for chunk in chunks:
                for item in chunk:
                    await self._decide(item, seen)
                await self._backpressure(flusher, inspecting)
            self.state.phase = "inspecting"
            await self._queue(None)
            await inspecting
            self.state.phase = "removing"
            for key_path in _subtree_roots(set(registered) - seen):
                self._add(Remove(key_path))
            _raise_if_failed(flusher)
            await self._flush()
        finally:
            for task in (flusher, inspecting):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.summary.seconds = self.state.elapsed

    # -- deciding ----------------------------------------------------------------------

    async def _decide(self, item: WalkItem, seen: set[KeyPath]) -> None:
        if isinstance(item, Skipped):
            self._skipped(item)
            return
        if isinstance(item, PlannedContainer):
            seen.add(item.key_path)
            old = self.registered.get(item.key_path)
            if old is None:
                self._add(Put(container_entry(item.key_path)))
                self.summary.new_directories.append((item.directory, item.key_path))
            elif old.structure_family != StructureFamily.container or old.fingerprint:
                # A file (or store) became a plain directory.
                self._add(Put(container_entry(item.key_path), replace=True))
            return
        files = len(item.files)
        self.summary.files_seen += files
        self.state.saw_files(files)
        seen.add(item.key_path)
        old = self.registered.get(item.key_path)
        if old is not None and old.fingerprint == item.fingerprint:
            self.summary.unchanged += 1
            self.state.count("unchanged")
            return
        await self._queue(item)

    def _skipped(self, item: Skipped) -> None:
        self.summary.skipped[item.reason] = self.summary.skipped.get(item.reason, 0) + 1
        if item.reason not in ("hidden", "excluded-extension"):
            self.summary.files_seen += 1
            self.state.saw_files(1)
        self.state.skip(item)
        if item.reason == "collision":
            self.summary.collisions.append(item)
        level = (
            logging.DEBUG
            if item.reason in QUIET_REASONS
            else logging.INFO
            if item.reason in ROUTINE_REASONS
            else logging.WARNING
        )
        if logger.isEnabledFor(level):
            detail = f" ({item.detail})" if item.detail else ""
            logger.log(level, "Skipped %s: %s%s", item.path, item.reason, detail)

    # -- inspecting --------------------------------------------------------------------

    async def _queue(self, item: Planned | None) -> None:
        """Queue for inspection; waits while the queue is full (the walk's backpressure)."""
        if not self.to_inspect.full():
            self.to_inspect.put_nowait(item)
            return
        put = asyncio.ensure_future(self.to_inspect.put(item))
        await asyncio.wait({put, self._inspecting}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            _raise_if_failed(self._inspecting)
            raise RuntimeError("Inspection stopped before the walk ended")

    async def _planned(self, first: Planned) -> AsyncIterator[Planned]:
        """What the walk queued for inspection, remembered in order to pair the results."""
        item: Planned | None = first
        while item is not None:
            self.in_flight.append(item)
            self.summary.inspected += 1
            self.state.inspecting()
            yield item
            item = await self.to_inspect.get()

    async def _inspect_all(self) -> None:
        first = await self.to_inspect.get()
        if first is None:  # nothing changed: no worker is ever started
            return
        # Starting worker processes takes seconds under load and would block the event
        # loop (and so the server's HTTP answers); start them in a thread instead.
        await asyncio.to_thread(self.inspector.start)
        async for result in self.inspector.stream(self._planned(first)):
            planned = self.in_flight.popleft()
            if isinstance(result, Skipped):
                self._skipped(result)
                if planned.key_path in self.registered:
                    # Registered before, unreadable now: it cannot be served; remove it.
                    self._add(Remove(planned.key_path))
                continue
            self._add(Put(result, replace=planned.key_path in self.registered))

    # -- writing -----------------------------------------------------------------------

    def _add(self, change: Change) -> None:
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending.append(change)

    async def _backpressure(self, *tasks: asyncio.Task[None]) -> None:
        """Let the walk run ahead of the writer by a few batches at most."""
        for task in tasks:
            _raise_if_failed(task)
        if len(self.pending) >= 4 * self.batch_size:
            await self._flush()

    async def _flush_periodically(self) -> None:
        """Flush a full batch, or one whose oldest change waited ``flush_interval``.

        Polls (a fifth of the interval) rather than ``asyncio.wait_for`` on an event: on
        Python 3.11, cancelling ``wait_for`` can hang the cancelling task.
        """
        while True:
            await asyncio.sleep(self.flush_interval / 5)
            if not self.pending:
                continue
            waited = time.monotonic() - (self.pending_since or time.monotonic())
            if len(self.pending) >= self.batch_size or waited >= self.flush_interval:
                await self._flush()

    async def _flush(self) -> None:
        async with self.flush_lock:
            while self.pending:
                batch = self.pending[: self.batch_size]
                del self.pending[: self.batch_size]
                self.pending_since = time.monotonic() if self.pending else None
                try:
                    outcomes = await self.sink.apply(batch)
                except Exception as err:
                    self.state.error(f"The sink failed: {type(err).__name__}: {err}")
                    raise
                for change, outcome in zip(batch, outcomes, strict=True):
                    self._record(change, outcome)

    def _record(self, change: Change, outcome: Outcome) -> None:
        if isinstance(change, Remove):
            if outcome.ok or outcome.status == 404:  # already gone with its parent
                self.summary.removed += 1
                self.state.count("removed")
                return
        elif outcome.ok:
            if change.replace:
                self.summary.replaced += 1
                self.state.count("updated")
            else:
                self.summary.registered += 1
                self.state.count("registered")
            return
        self.summary.refused.append(outcome)
        self.state.refused(outcome.key_path, outcome.message)
        logger.warning("Refused %s: %s", "/".join(outcome.key_path), outcome.message)


def _raise_if_failed(task: asyncio.Task[None]) -> None:
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def _subtree_roots(key_paths: set[KeyPath]) -> list[KeyPath]:
    """Key paths none of whose ancestors are in the set, deepest first."""
    roots = [k for k in key_paths if not any(k[:i] in key_paths for i in range(1, len(k)))]
    return sorted(roots, key=lambda k: (-len(k), k))
