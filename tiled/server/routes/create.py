"""Creating nodes: containers (``POST /metadata``) and external files (``POST /register``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...adapters.registry import known_mimetypes
from ...catalog import AssetStat, NodeRecord
from ...errors import BadRequestError, UnsupportedMimetypeError
from ...structures.core import Spec, StructureFamily
from ...structures.data_source import DataSource
from .. import auth
from ..documents import links_for
from ..errors import ValidationFailure
from ..file_access import resolve_asset_path
from ..node_access import catalog_of, split_path
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


def data_sources_of(body: NodeBody) -> list[DataSource]:
    """Domain data sources from a registration body, with every rule checked (422/415)."""
    if not body.data_sources:
        raise ValidationFailure(["body", "data_sources"], "Registration needs a data source")
    if body.structure_family != StructureFamily.container and len(body.data_sources) != 1:
        raise ValidationFailure(
            ["body", "data_sources"],
            f"A {body.structure_family.value} node takes exactly one data source, "
            f"got {len(body.data_sources)}",
        )
    known = set(known_mimetypes())
    result = []
    for i, source in enumerate(body.data_sources):
        loc: list[str | int] = ["body", "data_sources", i]
        if not source.assets:
            raise ValidationFailure([*loc, "assets"], "A registered data source needs assets")
        if source.mimetype not in known:
            raise UnsupportedMimetypeError(
                f"The given data source mimetype, {source.mimetype}, is not one that the "
                f"server knows how to read. Known: {', '.join(sorted(known))}"
            )
        try:
            result.append(DataSource.from_json(source.model_dump()))
        except (ValueError, TypeError, KeyError) as err:
            raise ValidationFailure([*loc, "structure"], str(err), source.structure) from err
        _check_asset_order(result[-1], loc)
    return result


def _check_asset_order(data_source: DataSource, loc: list[str | int]) -> None:
    seen: set[tuple[str | None, int | None]] = set()
    for j, asset in enumerate(data_source.assets):
        slot = (asset.parameter, asset.num)
        if asset.num is not None and slot in seen:
            raise ValidationFailure(
                [*loc, "assets", j, "num"],
                f"Two assets share parameter {asset.parameter!r} and num {asset.num}",
            )
        seen.add(slot)


async def _in_thread_stats(
    request: Request, data_sources: Sequence[DataSource], readable: Sequence[Path]
) -> dict[str, AssetStat]:
    from ..node_access import in_thread

    return await in_thread(request, asset_stats, data_sources, readable)


def asset_stats(
    data_sources: Sequence[DataSource], readable: Sequence[Path]
) -> dict[str, AssetStat]:
    """Check every asset lies inside the readable directories and exists; stat it.

    Runs before anything is written, so a refused registration changes nothing.
    """
    stats = {}
    for data_source in data_sources:
        for asset in data_source.assets:
            path = resolve_asset_path(asset.data_uri, readable)
            try:
                info = os.stat(path)
            except FileNotFoundError:
                raise BadRequestError(f"{asset.data_uri!r} does not exist on the server") from None
            if asset.is_directory != os.path.isdir(path):
                kind = "a directory" if not asset.is_directory else "not a directory"
                raise BadRequestError(
                    f"{asset.data_uri!r} is {kind}; set is_directory={not asset.is_directory}"
                )
            size = None if asset.is_directory else info.st_size
            stats[asset.data_uri] = AssetStat(size=size, mtime_ns=info.st_mtime_ns)
    return stats
