"""Fewer garbage collections while batches of nodes are decoded and written.

A batch of 500 nodes allocates hundreds of thousands of short-lived objects (request
body, pydantic models, structures, SQL parameters, search rows). With CPython's default
threshold of 700 allocations, that is hundreds of young collections per batch, and each
tenth promotes into collections of the older generations, which walk the whole heap of a
server (FastAPI, SQLAlchemy, numpy...): measured at ~80 us of the ~300 us of server CPU a
node of ``POST /api/v1/bulk/register`` costs. While at least one batch is in flight the
young threshold is raised to ``BATCH_THRESHOLD``; collections still run, so garbage in
cycles stays bounded, only less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLD = 10_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def batch_collection() -> Iterator[None]:
    """Raise the collector's young threshold for the duration (nested and concurrent
    uses share one raise; the last to leave restores what was there)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            current = gc.get_threshold()
            if 0 < current[0] < BATCH_THRESHOLD:  # 0: collection disabled, leave it so
                _saved = current
                gc.set_threshold(BATCH_THRESHOLD, current[1], current[2])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                if gc.get_threshold()[0] == BATCH_THRESHOLD:  # nobody else changed it
                    gc.set_threshold(*_saved)
                _saved = None
