"""Deciding when a file that is being written may be registered.

A candidate (a node's key with the signature of its files, e.g. its fingerprint) is
*quiet* once its signature has not changed for ``settle`` seconds. The watcher then runs
the format's completeness check and inspects it; each failure pushes the next attempt
back exponentially (capped). A changed signature starts over. Nothing here does I/O or
reads a clock of its own: the clock is injected, so the rules are tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

__all__ = ["SettleTracker", "Verdict"]

Status = Literal["ready", "wait", "given-up"]


@dataclass(frozen=True)
class Verdict:
    """What to do with a candidate now: inspect it, look again ``at`` a time, or leave it
    alone until its signature changes."""

    status: Status
    at: float = 0.0
    reason: str = ""
    attempts: int = 0  # failed attempts so far, for this signature


@dataclass
class _Candidate:
    signature: Hashable
    quiet_since: float
    attempts: int = 0
    retry_at: float = 0.0
    given_up: bool = False
    reason: str = ""


class SettleTracker:
    """Candidates waiting to be quiet and valid. Bounded: past ``capacity`` the oldest
    candidate is dropped and :attr:`overflowed` is set, so that the caller schedules a
    reconciliation that will find it again."""

    def __init__(
        self,
        settle: float = 2.0,
        *,
        clock: Callable[[], float] = time.time,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_attempts: int = 8,
        capacity: int = 100_000,
    ) -> None:
        if settle < 0:
            raise ValueError(f"settle must be >= 0 seconds, not {settle}")
        self.settle = settle
        self._clock = clock
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._max_attempts = max_attempts
        self._capacity = capacity
        self._items: dict[Hashable, _Candidate] = {}
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def observe(
        self, key: Hashable, signature: Hashable, last_modified: float | None = None
    ) -> Verdict:
        """Record the signature seen now. ``last_modified`` (on the clock's scale, e.g. the
        newest mtime of the files) lets a file untouched for long be ready at once."""
        now = self._clock()
        item = self._items.get(key)
        if item is None or item.signature != signature:
            quiet_since = now if last_modified is None else min(now, last_modified)
            if item is None and len(self._items) >= self._capacity:
                del self._items[next(iter(self._items))]
                self.overflowed = True
            item = self._items[key] = _Candidate(signature, quiet_since)
        return self._verdict(item, now)

    def failed(self, key: Hashable, reason: str, *, final: bool = True) -> Verdict:
        """The candidate was quiet but not valid. ``final=False`` (still being written:
        incomplete, locked by a writer) retries for ever at the capped interval; otherwise
        (corrupt, unreadable) it is given up after ``max_attempts``, until it changes."""
        item = self._items.get(key)
        if item is None:
            return Verdict("given-up", reason=reason)
        now = self._clock()
        item.attempts += 1
        item.reason = reason
        delay = min(self._max_backoff, self._first_backoff * 2 ** (item.attempts - 1))
        item.retry_at = now + delay
        if final and item.attempts >= self._max_attempts:
            item.given_up = True
        return self._verdict(item, now)

    def forget(self, key: Hashable) -> None:
        """The candidate was registered, or is no longer there."""
        self._items.pop(key, None)

    def pending(self) -> list[tuple[Hashable, str]]:
        """Candidates not yet registered, with the last reason they failed ("" if none)."""
        return [(key, item.reason) for key, item in self._items.items()]

    def _verdict(self, item: _Candidate, now: float) -> Verdict:
        if item.given_up:
            return Verdict("given-up", reason=item.reason, attempts=item.attempts)
        ready_at = max(item.quiet_since + self.settle, item.retry_at)
        if now >= ready_at:
            return Verdict("ready", reason=item.reason, attempts=item.attempts)
        return Verdict("wait", at=ready_at, reason=item.reason, attempts=item.attempts)
