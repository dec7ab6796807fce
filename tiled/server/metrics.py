"""Prometheus metrics: requests by route template, catalog pool use, indexing counters.

Requests are labelled by the route *template* (``/api/v1/metadata/{path:path}``), never
by the raw path, so the number of series stays bounded whatever clients ask for.

Several worker processes (``serve catalog --workers N``, gunicorn) share their figures
through prometheus-client's multiprocess mode: the parent sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start and any worker's
``/api/v1/metrics`` then reports the sum over all of them.

The indexing pipeline reports through :class:`IndexingCounters` (``app.state.metrics.
indexing.record("registered")``); it needs no import of prometheus itself.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "<unmatched>"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
INDEXING_OUTCOMES = ("registered", "updated", "removed", "unchanged", "skipped", "failed")


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


class IndexingCounters:
    """Counts of files and nodes the indexer handled, by outcome."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "tiled_indexing_items",
            "Files or nodes handled by indexing, by outcome",
            ["outcome"],
            registry=registry,
        )
        for outcome in INDEXING_OUTCOMES:
            self._counter.labels(outcome)  # export zeros, so rates work from the start

    def record(self, outcome: str, count: int = 1) -> None:
        if outcome not in INDEXING_OUTCOMES:
            raise ValueError(
                f"Unknown indexing outcome {outcome!r}; use one of {', '.join(INDEXING_OUTCOMES)}"
            )
        self._counter.labels(outcome).inc(count)


class ServerMetrics:
    """The metrics of one application (its own registry, so test apps do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tiled_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tiled_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "tiled_http_requests_in_progress",
            "Requests being handled now",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_in_use = Gauge(
            "tiled_catalog_pool_connections_in_use",
            "Catalog database connections checked out of the pool",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_capacity = Gauge(
            "tiled_catalog_pool_capacity",
            "Connections the catalog pool may open (size plus overflow)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_connects = Counter(
            "tiled_catalog_pool_connects",
            "Connections the catalog pool opened to the database",
            registry=self.registry,
        )
        self.indexing = IndexingCounters(self.registry)

    def watch_pool(self, engine: AsyncEngine | Engine) -> None:
        """Follow an engine's pool: connections in use, capacity, new connections. Call it
        for each engine of the catalog (on a SQLite file, reads have an engine of their
        own): the gauges are sums."""
        pool: Any = engine.sync_engine.pool if isinstance(engine, AsyncEngine) else engine.pool
        size = getattr(pool, "size", lambda: 1)()
        overflow = max(0, getattr(pool, "_max_overflow", 0))
        self.pool_capacity.inc(size + overflow)

        event.listen(pool, "checkout", lambda *_: self.pool_in_use.inc())
        event.listen(pool, "checkin", lambda *_: self.pool_in_use.dec())
        event.listen(pool, "connect", lambda *_: self.pool_connects.inc())

    def exposition(self) -> tuple[bytes, str]:
        """The text format, summed over every worker in multiprocess mode."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def process_exiting(self) -> None:
        """Drop this process's live gauges from the shared directory."""
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_progress.dec()
            route = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
