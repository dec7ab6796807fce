"""``/distinct/{path}`` (distinct metadata values) and ``/revisions/{path}`` (history)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...errors import BadRequestError
from .. import auth, openapi
from ..documents import envelope, path_url
from ..node_access import catalog_of, resolve, split_path
from ..params import bool_param, page_of
from ..responses import document
from .search import queries_of

router = APIRouter()


@router.get(
    "/api/v1/distinct/{path:path}",
    dependencies=[Depends(auth.requires(*auth.READ_METADATA))],
    openapi_extra=openapi.declared(openapi.DISTINCT),
)
async def distinct(request: Request, path: str) -> Response:
    node = await resolve(request, split_path(path))
    result = await catalog_of(request).distinct(
        node.path,
        metadata_keys=request.query_params.getlist("metadata"),
        structure_families=bool_param(request, "structure_families"),
        specs=bool_param(request, "specs"),
        counts=bool_param(request, "counts"),
        queries=queries_of(request),
    )
    return document(request, result)


@router.get(
    "/api/v1/revisions/{path:path}",
    dependencies=[Depends(auth.requires(*auth.READ_METADATA))],
    openapi_extra=openapi.declared(openapi.REVISIONS),
)
async def revisions(request: Request, path: str) -> Response:
    node = await resolve(request, split_path(path))
    page = page_of(request)
    if page.cursor is not None:
        raise BadRequestError("Revisions are paged with page[offset], not page[cursor]")
    items, count = await catalog_of(request).revisions(
        node.path, offset=page.offset, limit=page.limit
    )
    data = [
        {
            "revision_number": r.revision_number,
            "attributes": {
                "metadata": r.metadata,
                "specs": [s.to_json() for s in r.specs],
                "time_updated": r.time_updated,  # msgpack Timestamp / ISO 8601 (responses.py)
            },
        }
        for r in items
    ]
    base = str(request.base_url).rstrip("/") + f"/api/v1/revisions/{path_url(node.path)}"
    following = page.offset + page.limit
    links = {
        "self": f"{base}?{urlencode({'page[offset]': page.offset, 'page[limit]': page.limit})}",
        "first": f"{base}?{urlencode({'page[limit]': page.limit})}",
        "next": (
            f"{base}?{urlencode({'page[offset]': following, 'page[limit]': page.limit})}"
            if following < count
            else None
        ),
    }
    return document(request, envelope(data, links, {"count": count}))
