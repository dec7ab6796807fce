"""Probes for orchestrators and load balancers, and the Prometheus metrics.

``/healthz`` (liveness) answers as long as the process serves HTTP, without touching the
database, so a database outage never gets healthy processes restarted. ``/readyz``
(readiness) also checks that the catalog answers, so a balancer can route around a
process that cannot serve. Both are anonymous, like the metrics, which hold counts and
timings only, no paths, keys or metadata.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ...errors import CatalogError

router = APIRouter()

READINESS_TIMEOUT = 3.0


@router.get("/healthz", summary="Liveness probe")
async def healthz() -> Response:
    return JSONResponse({"status": "ready"})


@router.get("/readyz", summary="Readiness probe: the catalog database answers")
async def readyz(request: Request) -> Response:
    catalog = request.app.state.catalog
    try:
        with anyio.fail_after(READINESS_TIMEOUT):
            await catalog.connections.ping()
    except CatalogError as err:
        return _unready(err.message)
    except TimeoutError:
        return _unready(f"the catalog database did not answer within {READINESS_TIMEOUT:g} s")
    return JSONResponse({"status": "ready", "catalog": "ok"})


def _unready(reason: str) -> Response:
    return JSONResponse(
        {"status": "unavailable", "detail": reason},
        status_code=503,
        headers={"Retry-After": "2"},
    )


@router.get("/api/v1/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    body, media_type = request.app.state.metrics.exposition()
    return Response(body, media_type=media_type)
