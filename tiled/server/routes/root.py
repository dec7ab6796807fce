"""The root ("about") document and the landing page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from ... import __version__, media_types
from ...queries import QUERY_TYPES
from ..responses import document

router = APIRouter()

# The official client insists on a PEP 440 version >= 0.2.4 here (spec C2).
API_LIBRARY_VERSION = __version__


@router.get("/api/v1/", include_in_schema=True, summary="Root document")
@router.get("/api/v1", include_in_schema=False)
async def about(request: Request) -> Response:
    settings = request.app.state.settings
    api = str(request.base_url).rstrip("/") + "/api/v1"
    content = {
        "api_version": 0,
        "library_version": API_LIBRARY_VERSION,
        "formats": media_types.formats(),
        "aliases": media_types.aliases(),
        "queries": list(QUERY_TYPES),
        "authentication": {"required": not settings.public, "providers": [], "links": None},
        "links": {"self": api, "documentation": f"{api}/docs"},
        "meta": {"root_path": "/api"},
    }
    return document(request, content, {"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
async def landing(request: Request) -> Response:
    api = str(request.base_url).rstrip("/") + "/api/v1"
    return HTMLResponse(
        "<!doctype html><title>tiled</title><h1>tiled</h1>"
        f"<p>This is a tiled server. Its API is at <a href='{api}/'>{api}/</a>; "
        f"connect with <code>from tiled.client import from_uri; from_uri('{request.base_url}')"
        "</code>.</p>"
    )
