"""``GET /api/v1/indexing``: what the directory indexer of this server is doing (ours).

Answers the live :class:`tiled.registration.state.IndexingState` snapshot: phase, files
seen, nodes indexed, unchanged, removed, skipped by reason with the latest skipped paths,
errors, times and rate. Needs the read scope (the skipped paths name files). A server
that does not index a directory (``serve catalog``) answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from .. import auth
from ..errors import error_response

router = APIRouter()


@router.get(
    "/api/v1/indexing",
    summary="State of the directory indexer (serve directory)",
    dependencies=[Depends(auth.requires(*auth.READ_METADATA))],
)
async def indexing_state(request: Request) -> Response:
    state = request.app.state.indexing
    if state is None:
        return error_response(
            404, "This server does not index a directory (see `tiled serve directory`)"
        )
    return JSONResponse(state.snapshot(), headers={"Cache-Control": "no-cache"})
