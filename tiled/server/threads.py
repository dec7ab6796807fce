"""Blocking work in worker threads, bounded, and abandoned (not awaited) on cancellation.

A request cancelled by its timeout, or by a client that went away, must stop waiting at
once, even when its thread is stuck in a hung file system. The thread cannot be killed,
so it keeps its slot of the limiter until it really finishes: a stuck mount can exhaust
the read slots (later reads then wait and time out cleanly) but never makes the
process start threads without bound.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


async def run_bounded(limiter: anyio.CapacityLimiter, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a worker thread, holding one token of ``limiter`` while it runs."""
    token = object()
    loop = asyncio.get_running_loop()
    await limiter.acquire_on_behalf_of(token)
    lock = threading.Lock()
    state = "pending"  # -> "running" (the thread releases) or "abandoned" (we release)

    def call() -> Any:
        nonlocal state
        with lock:
            if state == "abandoned":
                return None  # nobody waits for it any more
            state = "running"
        try:
            return func(*args)
        finally:
            # Queued, not awaited: the thread does not wait for the loop to take it, and
            # the loop runs it before it hands the result back (callbacks run in order).
            try:
                loop.call_soon_threadsafe(limiter.release_on_behalf_of, token)
            except RuntimeError:  # the event loop is gone: the process is exiting
                pass

    try:
        result: T = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        return result
    except BaseException:
        with lock:
            if state == "pending":
                state = "abandoned"
                limiter.release_on_behalf_of(token)
        raise
