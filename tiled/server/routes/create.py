"""Creating nodes: containers (``POST /metadata``) and external files (``POST /register``).

The checks a registration passes live in ``registration_checks.py``, shared with bulk
registration and the in-process catalog sink.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...catalog import AssetStat, NodeRecord
from ...errors import BadRequestError
from ...structures.core import Spec, StructureFamily
from ...structures.data_source import DataSource
from .. import auth
from ..documents import links_for
from ..node_access import catalog_of, split_path
from ..registration_checks import asset_stats, data_sources_of
from ..request_models import NodeBody
from ..responses import document

router = APIRouter()


def _api(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1"


def _created(request: Request, record: NodeRecord) -> dict[str, Any]:
    ndim = 0
    if record.data_sources and record.structure_family == StructureFamily.array:
        ndim = len(record.data_sources[0].structure.shape)  # type: ignore[union-attr]
    return {
        "id": record.key,
        "links": links_for(_api(request), record.structure_family, record.path, ndim),
        "data_sources": [ds.to_json() for ds in record.data_sources],
        "access_tags": [],
    }


@router.post("/api/v1/metadata/{path:path}", dependencies=[Depends(auth.requires(*auth.CREATE))])
async def create_node(request: Request, path: str, body: NodeBody) -> Response:
    body.check_finite()
    if any(ds.assets for ds in body.data_sources):
        raise BadRequestError(
            "Data sources with assets are registered with POST /api/v1/register/{path}, "
            "not created with POST /api/v1/metadata/{path}"
        )
    if body.structure_family != StructureFamily.container or body.data_sources:
        raise BadRequestError(
            "This server stores no data of its own: POST /metadata creates containers only. "
            "Register existing files with POST /api/v1/register/{path}."
        )
    record = await catalog_of(request).create_node(
        split_path(path),
        key=body.id,
        structure_family=StructureFamily.container,
        metadata=body.metadata,
        specs=[Spec(s.name, s.version) for s in body.specs],
    )
    return document(request, _created(request, record))


@router.post("/api/v1/register/{path:path}", dependencies=[Depends(auth.requires(*auth.REGISTER))])
async def register(request: Request, path: str, body: NodeBody) -> Response:
    body.check_finite()
    data_sources = data_sources_of(body)
    readable = request.app.state.settings.readable
    stats = await _in_thread_stats(request, data_sources, readable)
    for data_source in data_sources:
        for asset in data_source.assets:
            asset.size = stats[asset.data_uri].size
    record = await catalog_of(request).create_node(
        split_path(path),
        key=body.id,
        structure_family=body.structure_family,
        metadata=body.metadata,
        specs=[Spec(s.name, s.version) for s in body.specs],
        data_sources=data_sources,
        asset_stats=stats,
    )
    return document(request, _created(request, record))


async def _in_thread_stats(
    request: Request, data_sources: Sequence[DataSource], readable: Sequence[Path]
) -> dict[str, AssetStat]:
    from ..node_access import in_thread

    return await in_thread(request, asset_stats, data_sources, readable)
