"""``/metadata/{path}``: read, update, replace and delete one node."""

from __future__ import annotations

from typing import Any

import jsonpatch
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...errors import BadRequestError, UnsupportedOperationError
from ...structures.core import Spec, specs_from_json
from .. import auth, openapi
from ..documents import envelope, resource
from ..node_access import catalog_of, resolve, split_path, view_of
from ..params import bool_param, fields_of, select_metadata_of
from ..request_models import PatchBody, ReplaceBody
from ..responses import document

router = APIRouter()


def api_root(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1"


@router.get(
    "/api/v1/metadata/{path:path}",
    dependencies=[Depends(auth.requires(*auth.READ_METADATA))],
    openapi_extra=openapi.declared(openapi.NODE),
)
async def get_metadata(request: Request, path: str) -> Response:
    node = await resolve(request, split_path(path))
    view = await view_of(request, node)
    doc = resource(
        api_root(request),
        view,
        fields_of(request),
        include_data_sources=bool_param(request, "include_data_sources"),
        select_metadata=select_metadata_of(request),
    )
    meta = (
        {"root_path": request.scope.get("root_path") or "/"}
        if bool_param(request, "root_path")
        else {}
    )
    return document(request, envelope(doc, meta=meta))


async def _catalog_node_path(request: Request, path: str) -> tuple[str, ...]:
    node = await resolve(request, split_path(path))
    if not node.is_catalog_node:
        raise UnsupportedOperationError(
            f"Node {'/'.join(node.path)!r} lives inside a file; it cannot be changed on its own"
        )
    return node.path


def _apply_patch(document_: Any, patch: Any, content_type: str, what: str) -> Any:
    try:
        if content_type == "application/json-patch+json":
            return jsonpatch.apply_patch(document_, patch)
        return _merge_patch(document_, patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as err:
        raise BadRequestError(f"The {what} patch cannot be applied: {err}") from err


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _specs_or_error(value: Any) -> list[Spec]:
    try:
        return specs_from_json(value)
    except (ValueError, TypeError) as err:
        raise BadRequestError(f"Invalid specs: {err}") from err


@router.patch(
    "/api/v1/metadata/{path:path}",
    dependencies=[Depends(auth.requires(*auth.WRITE_METADATA))],
    openapi_extra=openapi.declared(openapi.UPDATE),
)
async def patch_metadata(request: Request, path: str, body: PatchBody) -> Response:
    body.check_finite()
    keys = await _catalog_node_path(request, path)
    catalog = catalog_of(request)
    record = await catalog.lookup(keys)
    metadata = specs = None
    if body.metadata is not None:
        metadata = _apply_patch(record.metadata, body.metadata, body.content_type, "metadata")
        if not isinstance(metadata, dict):
            raise BadRequestError("The patched metadata must be a JSON object")
    if body.specs is not None:
        current = [s.to_json() for s in record.specs]
        specs = _specs_or_error(_apply_patch(current, body.specs, body.content_type, "specs"))
    updated = await catalog.update_metadata(
        keys,
        metadata=metadata,
        specs=specs,
        keep_revision=not bool_param(request, "drop_revision"),
    )
    return document(request, _update_response(updated, metadata is not None))


@router.put(
    "/api/v1/metadata/{path:path}",
    dependencies=[Depends(auth.requires(*auth.WRITE_METADATA))],
    openapi_extra=openapi.declared(openapi.UPDATE),
)
async def replace_metadata(request: Request, path: str, body: ReplaceBody) -> Response:
    body.check_finite()
    keys = await _catalog_node_path(request, path)
    specs = _specs_or_error(body.specs) if body.specs is not None else None
    updated = await catalog_of(request).update_metadata(
        keys,
        metadata=body.metadata,
        specs=specs,
        keep_revision=not bool_param(request, "drop_revision"),
    )
    return document(request, _update_response(updated, False))


def _update_response(record: Any, include_metadata: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"id": record.key, "access_tags": []}
    if include_metadata:
        content["metadata"] = record.metadata
    return content


@router.delete(
    "/api/v1/metadata/{path:path}",
    dependencies=[Depends(auth.requires(*auth.DELETE))],
    openapi_extra=openapi.declared(openapi.DELETE),
)
async def delete_node(request: Request, path: str) -> Response:
    keys = await _catalog_node_path(request, path)
    await catalog_of(request).delete(keys, recursive=bool_param(request, "recursive"))
    return document(request, None)
