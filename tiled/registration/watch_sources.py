"""Where the watcher learns that paths changed: batches of paths, nothing more.

* :class:`EventSource`: inotify (through watchfiles' Rust notifier) on local disks; a
  burst of events is grouped (debounced) into one batch.
* :class:`PollingSource`: for network file systems, where events do not arrive: every
  ``interval`` seconds a stat-only listing of the tree is compared with the previous one
  (no file is opened).
* :func:`open_source`: the event source, or polling when asked, or polling with a warning
  when the kernel's inotify watch limit is reached.

A source is started (its watches are in place) before the initial walk, so a file
created during the walk is in a later batch; batches are fetched with :meth:`next_batch`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("tiled.registration.watch")

DEFAULT_FALLBACK_POLL = 10.0  # seconds between polls when inotify is out of watches
_WATCH_LIMIT_HINT = (
    "raise it with `sysctl fs.inotify.max_user_watches=524288` (and "
    "fs.inotify.max_user_instances), or pass --poll SECONDS"
)


class ChangeSource(Protocol):
    """Batches of changed paths (created, modified, deleted, moved: all the same)."""

    description: str

    async def next_batch(self) -> set[Path]: ...

    def close(self) -> None: ...


class SourceClosed(Exception):
    """The source was closed (e.g. replaced by polling) while a batch was awaited."""


def is_watch_limit(err: BaseException) -> bool:
    """The kernel refused another inotify watch (or instance)."""
    text = str(err).lower()
    if "watch limit" in text or "too many open files" in text:
        return True
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EMFILE)


class EventSource:
    """inotify through watchfiles; the watches exist once the constructor returns."""

    def __init__(self, root: Path, *, debounce: float = 0.2, step: float = 0.05) -> None:
        from watchfiles._rust_notify import RustNotify

        self.root = root
        self.description = f"watching {root} for file system events (inotify)"
        self._debounce_ms = max(1, int(debounce * 1000))
        self._step_ms = max(1, int(step * 1000))
        self._stop = threading.Event()
        self._notify = RustNotify([str(root)], False, False, 0, True, True)
        self._waiting = False

    async def next_batch(self) -> set[Path]:
        while True:
            if self._stop.is_set():
                self._notify.close()
                raise SourceClosed(self.description)
            self._waiting = True
            try:
                raw = await asyncio.to_thread(
                    self._notify.watch, self._debounce_ms, self._step_ms, 1000, self._stop
                )
            finally:
                self._waiting = False
            if isinstance(raw, set) and raw:
                return {Path(path) for _, path in raw}

    def close(self) -> None:
        """Stop; a batch being awaited ends with :class:`SourceClosed`."""
        self._stop.set()
        if not self._waiting:
            self._notify.close()


Snapshot = dict[str, tuple[int, int, bool]]  # path -> (size, mtime_ns, is_directory)


def _scan(root: Path) -> Snapshot:
    """Every path under ``root`` with its size and modification time: stat only."""
    snapshot: Snapshot = {}
    seen: set[tuple[int, int]] = set()
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                listing = list(entries)
        except OSError:
            continue
        for entry in listing:
            try:
                info = entry.stat()
            except OSError:
                continue
            is_directory = entry.is_dir()
            snapshot[entry.path] = (info.st_size, info.st_mtime_ns, is_directory)
            if is_directory:
                identity = (info.st_dev, info.st_ino)
                if identity not in seen:
                    seen.add(identity)
                    pending.append(entry.path)
    return snapshot


def _differences(old: Snapshot, new: Snapshot) -> Iterator[str]:
    for path, state in new.items():
        if old.get(path) != state:
            yield path
    for path in old.keys() - new.keys():
        yield path


class PollingSource:
    """A stat-only comparison of the whole tree every ``interval`` seconds."""

    def __init__(self, root: Path, interval: float, *, reason: str = "") -> None:
        if interval <= 0:
            raise ValueError(f"--poll must be a positive number of seconds, not {interval}")
        self.root = root
        self.interval = interval
        self.description = f"polling {root} every {interval:g} s{reason}"
        self._snapshot: Snapshot = _scan(root)

    async def next_batch(self) -> set[Path]:
        while True:
            await asyncio.sleep(self.interval)
            new = await asyncio.to_thread(_scan, self.root)
            changed = {Path(path) for path in _differences(self._snapshot, new)}
            self._snapshot = new
            if changed:
                return changed

    def close(self) -> None:
        self._snapshot = {}


def inotify_limit() -> int | None:
    """How many inotify watches this user may hold (the lowest limit that applies)."""
    limits = []
    for name in ("/proc/sys/user/max_inotify_watches", "/proc/sys/fs/inotify/max_user_watches"):
        try:
            limits.append(int(Path(name).read_text()))
        except (OSError, ValueError):
            continue
    return min(limits) if limits else None


def watches_needed(root: Path, stop_after: int) -> int:
    """Directories under ``root`` (each takes one inotify watch), counting up to
    ``stop_after`` only: a stat-only walk of directories."""
    count = 0
    pending = [str(root)]
    seen: set[tuple[int, int]] = set()
    while pending and count <= stop_after:
        directory = pending.pop()
        count += 1
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir():
                        info = entry.stat()
                        if (info.st_dev, info.st_ino) not in seen:
                            seen.add((info.st_dev, info.st_ino))
                            pending.append(entry.path)
        except OSError:
            continue
    return count


def watch_budget() -> int | None:
    """Watches the watcher allows itself: most of the limit (other programs use some)."""
    limit = inotify_limit()
    return None if limit is None else int(limit * 0.9)


def fallback_warning(root: Path, why: str) -> None:
    logger.warning(
        "%s; falling back to polling %s every %g s (stat only). To watch with events, %s.",
        why,
        root,
        DEFAULT_FALLBACK_POLL,
        _WATCH_LIMIT_HINT,
    )


def polling_fallback(root: Path) -> PollingSource:
    return PollingSource(root, DEFAULT_FALLBACK_POLL, reason=" (inotify watch limit)")


def open_source(root: Path, *, poll: float | None = None, debounce: float = 0.2) -> ChangeSource:
    """The source for ``root``: polling when ``poll`` is given, inotify otherwise, and
    polling (with a warning saying how to fix it) when inotify is out of watches.

    The notifier does not report watches the kernel refused while adding a tree (events
    below them are silently lost), so the directories are counted against the limit
    first.
    """
    if poll:
        return PollingSource(root, poll)
    budget = watch_budget()
    if budget is not None:
        needed = watches_needed(root, budget)
        if needed > budget:
            why = (
                f"The tree has more than {budget:,} directories, more than the inotify "
                f"watch limit ({inotify_limit():,}) allows"
            )
            fallback_warning(root, why)
            return polling_fallback(root)
    try:
        return EventSource(root, debounce=debounce)
    except Exception as err:  # RustNotify reports the limit as OSError or its own error
        if not is_watch_limit(err):
            raise
        fallback_warning(root, f"The inotify watch limit is reached ({err})")
        return polling_fallback(root)


async def next_batch_or_fallback(
    source: ChangeSource, root: Path
) -> tuple[set[Path], ChangeSource]:
    """The next batch; when the event source runs out of watches later (new directories),
    switch to polling with a warning and report everything as possibly changed."""
    try:
        return await source.next_batch(), source
    except asyncio.CancelledError:
        raise
    except Exception as err:
        if not is_watch_limit(err):
            raise
        source.close()
        fallback_warning(root, f"The inotify watch limit is reached ({err})")
        return {root}, polling_fallback(root)
