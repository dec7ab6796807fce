"""What indexing is doing now, for the progress bar, the log and ``GET /api/v1/indexing``.

One :class:`IndexingState` lives as long as the indexer (a ``serve directory`` server, a
``register`` run, a watcher): counters accumulate over every sync it performs. It is
updated from one event loop only, so it needs no lock; :meth:`IndexingState.snapshot`
returns plain JSON-able values. Skipped files are counted by reason, and the latest few
are kept with their paths so that "why is X missing" has an answer without a log.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from .model import KeyPath, Skipped

Phase = Literal["starting", "walking", "inspecting", "removing", "idle", "failed"]
Outcome = Literal["registered", "updated", "removed", "unchanged", "skipped", "failed"]

LATEST_SKIPPED = 100
LATEST_ERRORS = 20


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class IndexingState:
    """Live counters of an indexer; ``listener(outcome, count)`` mirrors them elsewhere.

    The listener is how the server feeds its Prometheus counters without this module
    knowing about Prometheus.
    """

    def __init__(
        self,
        root: str = "",
        *,
        latest: int = LATEST_SKIPPED,
        listener: Callable[[str, int], None] | None = None,
    ) -> None:
        self.root = root
        self.phase: Phase = "starting"
        self.files_seen = 0
        self.registered = 0  # new nodes written
        self.updated = 0  # nodes replaced because their files changed
        self.unchanged = 0
        self.removed = 0
        self.inspected = 0  # nodes whose files were opened
        self.skipped: Counter[str] = Counter()
        self.latest_skipped: deque[dict[str, str]] = deque(maxlen=latest)
        self.errors: deque[str] = deque(maxlen=LATEST_ERRORS)
        self.error_count = 0
        self.started: str | None = None
        self.finished: str | None = None
        self.runs = 0
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._listener = listener

    # -- updates ----------------------------------------------------------------------

    def begin(self) -> None:
        """A sync starts: the clock restarts, the counters keep accumulating."""
        self.phase = "walking"
        self.started = _now()
        self.finished = None
        self._started_at = time.monotonic()
        self._finished_at = None
        self._files_at_start = self.files_seen

    def finish(self, error: str | None = None) -> None:
        self.phase = "failed" if error else "idle"
        if error:
            self.error(error)
        self.finished = _now()
        self._finished_at = time.monotonic()
        self.runs += 1

    def saw_files(self, count: int) -> None:
        self.files_seen += count

    def count(self, outcome: Outcome, count: int = 1) -> None:
        if count <= 0:
            return
        if outcome == "skipped" or outcome == "failed":
            raise ValueError("use skip() or error() for skipped and failed items")
        setattr(self, outcome, getattr(self, outcome) + count)
        self._notify(outcome, count)

    def inspecting(self, count: int = 1) -> None:
        self.inspected += count

    def skip(self, item: Skipped) -> None:
        self.skipped[item.reason] += 1
        self.latest_skipped.append(
            {
                "path": str(item.path),
                "reason": item.reason,
                "detail": item.detail,
                "key": "/".join(item.key_path) if item.key_path else "",
            }
        )
        self._notify("skipped", 1)

    def refused(self, key_path: KeyPath, message: str) -> None:
        """The sink refused a change: counted as skipped ("refused") and as an error."""
        self.skipped["refused"] += 1
        self.latest_skipped.append(
            {"path": "", "reason": "refused", "detail": message, "key": "/".join(key_path)}
        )
        self._notify("failed", 1)

    def error(self, message: str) -> None:
        self.error_count += 1
        self.errors.append(message)
        self._notify("failed", 1)

    def _notify(self, outcome: str, count: int) -> None:
        if self._listener is not None:
            try:
                self._listener(outcome, count)
            except Exception:  # metrics must never stop indexing
                pass

    # -- reading ----------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        if self._started_at is None:
            return 0.0
        end = self._finished_at if self._finished_at is not None else time.monotonic()
        return end - self._started_at

    @property
    def rate(self) -> float:
        """Files handled per second in the current (or last) sync."""
        elapsed = self.elapsed
        files = self.files_seen - getattr(self, "_files_at_start", 0)
        return files / elapsed if elapsed > 0 else 0.0

    @property
    def done(self) -> bool:
        return self.phase in ("idle", "failed")

    def snapshot(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "phase": self.phase,
            "done": self.done,
            "runs": self.runs,
            "files_seen": self.files_seen,
            "nodes_indexed": self.registered + self.updated,
            "registered": self.registered,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "inspected": self.inspected,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": sum(self.skipped.values()),
            "latest_skipped": list(self.latest_skipped),
            "errors": self.error_count,
            "latest_errors": list(self.errors),
            "started": self.started,
            "finished": self.finished,
            "elapsed_seconds": round(self.elapsed, 3),
            "files_per_second": round(self.rate, 1),
        }
