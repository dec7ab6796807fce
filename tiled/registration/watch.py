"""Keeping a sink in step with a directory tree as files come, grow, move and go.

The loop: a change source (inotify events, or a stat-only poll) names changed paths;
each path marks the closest known directory *dirty*; a dirty directory is re-planned on
its own (one ``scandir``, so sequences regroup) and compared with what the sink holds for
that directory (kept in memory, :class:`TreeIndex`). Then:

* a child whose fingerprint (files, sizes, modification times) is unchanged: nothing;
* a new or changed one waits in the :class:`SettleTracker` until it has been quiet for
  ``settle`` seconds, then is inspected (completeness check first); a failure is
  retried with back-off; success is written as one ``Put`` (replacing the old node in
  one transaction), so a node is never seen half-written and never disappears while
  its file is rewritten;
* a child that is gone is removed (with its subtree); a new subdirectory is written as a
  container and walked the same way. A rename is a removal plus an addition.

A periodic reconciliation (``reconcile`` seconds) re-plans every directory, stat only,
and marks those that differ from the index dirty: it catches what events missed.
The work for one change is one directory's listing plus the changed files' inspection,
whatever the size of the tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..adapters.registry import check_complete
from .inspect import container_entry, inspect_planned
from .model import Change, KeyPath, NodeEntry, Planned, Put, Remove, Sink, Skipped
from .settle import SettleTracker, Verdict
from .state import IndexingState
from .watch_index import DIRECTORY, TreeIndex
from .watch_sources import (
    ChangeSource,
    EventSource,
    SourceClosed,
    fallback_warning,
    inotify_limit,
    next_batch_or_fallback,
    open_source,
    polling_fallback,
    watch_budget,
)

if TYPE_CHECKING:
    from .plan import DirectoryPlan, PlanOptions
    from .sync import Summary, SupportsInspect

__all__ = ["WatchOptions", "Watcher", "watch_directory"]

logger = logging.getLogger("tiled.registration.watch")

DEFAULT_SETTLE = 2.0
DEFAULT_RECONCILE = 600.0
MAX_PENDING_PATHS = 100_000  # beyond this, a burst is handled by a reconciliation
_WRITER_OPEN = "open for writing"  # completeness reasons that are never given up
_MISSING = object()


@dataclass(frozen=True)
class WatchOptions:
    """``--poll``, ``--settle`` and ``--reconcile``, in seconds (None: events; never)."""

    poll: float | None = None
    settle: float = DEFAULT_SETTLE
    reconcile: float | None = DEFAULT_RECONCILE
    batch_size: int = 500
    debounce: float = 0.2


class Watcher:
    """One watched tree. :meth:`run` keeps going until cancelled."""

    def __init__(
        self,
        root: Path,
        sink: Sink,
        options: PlanOptions,
        *,
        inspector: SupportsInspect,
        state: IndexingState | None = None,
        watch: WatchOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.sink = sink
        self.options = options
        self.inspector = inspector
        self.state = state if state is not None else IndexingState(str(self.root))
        self.watch = watch or WatchOptions()
        self.tracker = SettleTracker(self.watch.settle, clock=clock)
        self.index = TreeIndex(self.root)
        self._clock = clock
        self._incoming: set[Path] = set()
        self._overflowed = False
        self._reconcile_wanted = False
        self._due: dict[Path, float] = {}
        self._wake = asyncio.Event()
        self.source: ChangeSource | None = None
        self._replacement: ChangeSource | None = None
        self._budget = watch_budget()
        self.ready = asyncio.Event()  # set once the initial pass is done
        self.synced: Callable[[Summary], None] | None = None  # told the initial sync's summary
        # Work done, for tests and diagnostics: directories listed, nodes inspected, full
        # loads of what the sink holds, stat-only passes over the tree.
        self.counts: Counter[str] = Counter()

    # -- running ------------------------------------------------------------------------

    async def run(self, *, initial_sync: bool = True) -> None:
        """Start watching, then (optionally) sync, prime the index, and follow changes."""
        self.source = await asyncio.to_thread(
            open_source, self.root, poll=self.watch.poll, debounce=self.watch.debounce
        )
        logger.info("Watch: %s", self.source.description)
        listening = asyncio.create_task(self._listen(), name="tiled-watch-source")
        reconciling = asyncio.create_task(self._reconcile_periodically(), name="tiled-reconcile")
        try:
            if initial_sync:
                from .sync import synchronise

                summary = await synchronise(
                    self.root, self.sink, self.options, inspector=self.inspector, state=self.state
                )
                if self.synced is not None:
                    self.synced(summary)
            await self._prime()
            self.ready.set()
            while True:
                await self._step()
        finally:
            for task in (listening, reconciling):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.source is not None:
                self.source.close()

    async def _listen(self) -> None:
        assert self.source is not None
        while True:
            try:
                batch, self.source = await next_batch_or_fallback(self.source, self.root)
            except SourceClosed:
                if self._replacement is None:
                    raise
                self.source, self._replacement = self._replacement, None
                batch = {self.root}  # compare everything once: events may have been missed
            if self.root in batch:
                self._reconcile_wanted = True
            self._incoming |= batch
            if len(self._incoming) > MAX_PENDING_PATHS:
                self._incoming.clear()
                self._overflowed = True
            self._wake.set()

    async def _reconcile_periodically(self) -> None:
        interval = self.watch.reconcile
        if not interval:
            return
        while True:
            await asyncio.sleep(interval)
            self._reconcile_wanted = True
            self._wake.set()

    async def _step(self) -> None:
        """Wait for changes or a due retry, then handle every dirty directory once."""
        if not self._wake.is_set():
            timeout = None
            if self._due:
                timeout = max(0.0, min(self._due.values()) - self._clock())
            # asyncio.wait, not wait_for: on Python 3.11 a cancelled wait_for can swallow
            # the cancellation, and the server would not stop.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=timeout)
            finally:
                waiter.cancel()
        self._wake.clear()
        dirty: set[Path] = set()
        if self._overflowed or self._reconcile_wanted or self.tracker.overflowed:
            self._overflowed = self._reconcile_wanted = self.tracker.overflowed = False
            dirty |= await self._reconcile()
        paths, self._incoming = self._incoming, set()
        for path in paths:
            directory = self.index.nearest_directory(path)
            if directory is not None:
                dirty.add(directory)
        now = self._clock()
        for directory, at in list(self._due.items()):
            if at <= now:
                dirty.add(directory)
                del self._due[directory]
        for directory in sorted(dirty, key=lambda d: len(d.parts)):  # parents first
            try:
                await self.sync_directory(directory)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                logger.exception("Watch: re-syncing %s failed; retrying later", directory)
                self.state.error(f"{directory}: {type(err).__name__}: {err}")
                self._schedule(directory, self._clock() + 5.0)

    async def _check_watch_budget(self) -> None:
        """Switch from events to polling when the tree outgrows the inotify limit (the
        notifier would otherwise drop the new directories' watches silently)."""
        if not isinstance(self.source, EventSource) or self._budget is None:
            return
        if len(self.index.directories) <= self._budget or self._replacement is not None:
            return
        fallback_warning(
            self.root,
            f"The tree now has more than {self._budget:,} directories, more than the "
            f"inotify watch limit ({inotify_limit():,}) allows",
        )
        self._replacement = await asyncio.to_thread(polling_fallback, self.root)
        self.source.close()

    # -- the initial pass and reconciliation ----------------------------------------------

    async def _prime(self) -> None:
        """Load what the sink holds (once), then mark directories that differ dirty."""
        registered = [item async for item in self.sink.registered()]
        self.counts["sink_loads"] += 1
        self.index = TreeIndex.from_registered(self.root, registered)
        del registered
        for directory in await self._reconcile():
            self._schedule(directory, 0.0)
        self._wake.set()

    async def _reconcile(self) -> set[Path]:
        """Re-plan every directory (stat only) and return those differing from the index."""
        started = time.monotonic()
        self.counts["tree_passes"] += 1
        dirty = await asyncio.to_thread(self._differing_directories)
        await self._check_watch_budget()
        logger.info(
            "Watch: reconciled %s in %.2f s (%d directories differ)",
            self.root,
            time.monotonic() - started,
            len(dirty),
        )
        return dirty

    def _differing_directories(self) -> set[Path]:
        from .plan import plan_directory

        dirty: set[Path] = set()
        seen: set[tuple[int, int]] = set()
        pending: list[tuple[Path, KeyPath]] = [(self.root, ())]
        while pending:
            directory, key_path = pending.pop()
            try:
                info = os.stat(directory)
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            plan = plan_directory(directory, key_path, self.options)
            held = self.index.listing(key_path)
            planned: set[str] = set()
            for container in plan.containers:
                key = container.key_path[-1]
                planned.add(key)
                if key in held and held[key] is DIRECTORY:
                    self.index.add_directory(Path(container.directory), container.key_path)
                    pending.append((Path(container.directory), container.key_path))
                else:
                    dirty.add(directory)
            for entry in plan.entries:
                key = entry.key_path[-1]
                planned.add(key)
                if held.get(key, _MISSING) != hash(entry.fingerprint) and not self._given_up(entry):
                    dirty.add(directory)
            if held.keys() - planned:
                dirty.add(directory)
        return dirty

    def _given_up(self, entry: Planned) -> bool:
        return (
            entry.key_path in self.tracker
            and self.tracker.observe(entry.key_path, hash(entry.fingerprint)).status == "given-up"
        )

    # -- one directory ------------------------------------------------------------------

    async def sync_directory(self, directory: Path) -> None:
        """Bring one directory's children in step (non-recursive; new subdirectories are
        written and then handled the same way)."""
        from .plan import plan_directory

        key_path = self.index.directories.get(directory)
        if key_path is None:
            return
        if not os.path.isdir(directory):
            parent = self.index.nearest_directory(directory)
            if parent is not None:
                self._incoming.add(directory)  # the parent will see it gone
                self._wake.set()
            return
        plan: DirectoryPlan = await asyncio.to_thread(
            plan_directory, directory, key_path, self.options
        )
        self.counts["directories_listed"] += 1
        held = dict(self.index.listing(key_path))
        changes, new_directories, ready = self._compare(directory, key_path, plan, held)
        await self._apply(changes)
        for path, child_key_path in new_directories:
            if self.index.listing(key_path).get(child_key_path[-1], _MISSING) is DIRECTORY:
                self.index.add_directory(path, child_key_path)
                await self._check_watch_budget()
                await self.sync_directory(path)
        if ready:
            await self._inspect_and_write(directory, ready, held)

    def _compare(
        self,
        directory: Path,
        key_path: KeyPath,
        plan: DirectoryPlan,
        held: dict[str, int | None],
    ) -> tuple[list[Change], list[tuple[Path, KeyPath]], list[Planned]]:
        """What to write now (removals, new containers), which subdirectories are new, and
        which changed nodes have settled and may be inspected."""
        planned: set[str] = set()
        changes: list[Change] = []
        new_directories: list[tuple[Path, KeyPath]] = []
        for container in plan.containers:
            key = container.key_path[-1]
            planned.add(key)
            if key in held and held[key] is DIRECTORY:
                self.index.add_directory(Path(container.directory), container.key_path)
                continue
            changes.append(Put(container_entry(container), replace=key in held))
            new_directories.append((Path(container.directory), container.key_path))
        ready: list[Planned] = []
        for entry in plan.entries:
            key = entry.key_path[-1]
            planned.add(key)
            signature = hash(entry.fingerprint)
            if held.get(key, _MISSING) == signature:
                self.tracker.forget(entry.key_path)
                continue
            verdict = self.tracker.observe(entry.key_path, signature, _last_modified(entry))
            if verdict.status == "ready":
                ready.append(entry)
            elif verdict.status == "wait":
                self._schedule(directory, verdict.at)
        for key in held.keys() - planned:
            changes.append(Remove((*key_path, key)))
            self.tracker.forget((*key_path, key))
        for skipped in plan.skipped:
            if skipped.key_path is not None and skipped.key_path[-1] in held:
                self.state.skip(skipped)
        return changes, new_directories, ready

    async def _inspect_and_write(
        self, directory: Path, ready: list[Planned], held: dict[str, int | None]
    ) -> None:
        puts: list[Change] = []
        whole: list[Planned] = []
        reasons = await asyncio.to_thread(_incomplete_reasons, ready)
        for planned, reason in zip(ready, reasons, strict=True):
            if reason is None:
                whole.append(planned)
                continue
            skipped = Skipped(planned.files[0].path, "incomplete", reason, planned.key_path)
            entry = await self._failed(directory, planned, skipped, held)
            if entry is not None:
                puts.append(Put(entry, replace=planned.key_path[-1] in held))
        self.state.inspecting(len(whole))
        self.counts["inspected"] += len(whole)
        results = await self.inspector.inspect(whole) if whole else []
        for planned, result in zip(whole, results, strict=True):
            if isinstance(result, Skipped):
                result = await self._failed(directory, planned, result, held)
                if result is None:
                    continue
            if not _unchanged(planned):
                # written to while it was inspected: wait for the next quiet window
                verdict = self.tracker.observe(planned.key_path, object())
                self._schedule(directory, verdict.at if verdict.status == "wait" else 0.0)
                continue
            puts.append(Put(result, replace=planned.key_path[-1] in held))
        await self._apply(puts)

    async def _failed(
        self,
        directory: Path,
        planned: Planned,
        skipped: Skipped,
        held: dict[str, int | None],
    ) -> NodeEntry | None:
        """Schedule a retry; once given up, remove the old node (as a sync would), or, for
        a store that only looks sparse, register what inspects cleanly."""
        writing = skipped.reason == "incomplete" and _WRITER_OPEN in skipped.detail
        verdict: Verdict = self.tracker.failed(
            planned.key_path, f"{skipped.reason}: {skipped.detail}", final=not writing
        )
        if verdict.status == "wait":
            self._schedule(directory, verdict.at)
            log = logger.info if verdict.attempts == 1 else logger.debug
            log("Watch: not registering %s yet: %s", skipped.path, skipped.detail)
            return None
        if skipped.reason == "incomplete":
            result = await asyncio.to_thread(inspect_planned, planned, check_complete=False)
            if isinstance(result, NodeEntry):
                logger.warning(
                    "Watch: registering %s although it still looks incomplete after "
                    "staying quiet (%s)",
                    "/".join(planned.key_path),
                    skipped.detail,
                )
                return result
            skipped = result
        self.state.skip(skipped)
        logger.warning("Watch: skipped %s: %s", "/".join(planned.key_path), skipped.detail)
        if planned.key_path[-1] in held:
            await self._apply([Remove(planned.key_path)])
        return None

    async def _apply(self, changes: Sequence[Change]) -> None:
        size = max(1, self.watch.batch_size)
        for start in range(0, len(changes), size):
            batch = changes[start : start + size]
            outcomes = await self.sink.apply(batch)
            for change, outcome in zip(batch, outcomes, strict=True):
                self._record(change, outcome)
            done = Counter(_verb(c) for c, o in zip(batch, outcomes, strict=True) if o.ok)
            if done:
                logger.info(
                    "Watch: %s", ", ".join(f"{n} {verb}" for verb, n in sorted(done.items()))
                )

    def _record(self, change: Change, outcome: Any) -> None:
        if isinstance(change, Remove):
            if outcome.ok or outcome.status == 404:
                self.index.remove(change.key_path)
                self.state.count("removed")
            else:
                self.state.refused(change.key_path, outcome.message)
            return
        entry = change.entry
        if not outcome.ok and not (outcome.status == 409 and not entry.has_data):
            self.state.refused(entry.key_path, outcome.message)
            self.tracker.failed(entry.key_path, f"refused: {outcome.message}")
            logger.warning("Watch: %s refused: %s", "/".join(entry.key_path), outcome.message)
            return
        if entry.has_data:
            fingerprint = tuple(
                sorted((uri, stat.size, stat.mtime_ns) for uri, stat in entry.stats.items())
            )
            self.index.set(entry.key_path, hash(fingerprint))
            self.tracker.forget(entry.key_path)
        else:
            self.index.set(entry.key_path, DIRECTORY)
        self.state.count("updated" if change.replace else "registered")

    def _schedule(self, directory: Path, at: float) -> None:
        current = self._due.get(directory)
        if current is None or at < current:
            self._due[directory] = at


def _verb(change: Change) -> str:
    if isinstance(change, Remove):
        return "removed"
    return "updated" if change.replace else "registered"


def _incomplete_reasons(items: Sequence[Planned]) -> list[str | None]:
    """The format's completeness check for every item, whatever its age (a writer may
    hold a file open for hours), before any worker opens it."""
    reasons: list[str | None] = []
    for planned in items:
        try:
            reasons.append(check_complete(planned.mimetype, [f.path for f in planned.files]))
        except Exception:  # no check for this format (or it broke): inspection decides
            reasons.append(None)
    return reasons


def _last_modified(entry: Planned) -> float:
    return max(state.mtime_ns for state in entry.files) / 1e9


def _unchanged(planned: Planned) -> bool:
    """The files still have the size and modification time they had when planned."""
    for state in planned.files:
        try:
            info = os.stat(state.path)
        except OSError:
            return False
        size = None if state.is_directory else info.st_size
        if size != state.size or info.st_mtime_ns != state.mtime_ns:
            return False
    return True


async def watch_directory(
    directory: Path,
    sink: Sink,
    options: PlanOptions,
    *,
    inspector: SupportsInspect,
    state: IndexingState | None = None,
    watch: WatchOptions | None = None,
    initial_sync: bool = False,
) -> None:
    """Keep ``sink`` in step with ``directory`` until cancelled.

    With ``initial_sync`` the watches are set up first and the full sync runs after, so
    nothing created during the walk is lost; without it (the tree was just synced) the
    first pass is a stat-only comparison that catches whatever changed since.
    """
    watcher = Watcher(directory, sink, options, inspector=inspector, state=state, watch=watch)
    await watcher.run(initial_sync=initial_sync)
