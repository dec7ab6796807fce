"""``/array/full`` and ``/array/block``: array data, whole, sliced or block by block."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...media_types import resolve_media_type
from ...serialization.array import encode_array
from ...structures.core import StructureFamily
from .. import auth
from ..errors import ValidationFailure
from ..params import check_expected_shape, parse_block, parse_slice, selected_shape
from ..reading import check_size, data_adapter, data_response, read_in_thread

router = APIRouter()


def _media_type(request: Request) -> str:
    return resolve_media_type(
        "array", request.query_params.get("format"), request.headers.get("accept")
    )


async def _respond(request: Request, name: str, array: object, media_type: str) -> Response:
    body = await read_in_thread(request, name, encode_array, array, media_type)
    return data_response(body, media_type, request.query_params.get("filename"))


@router.get(
    "/api/v1/array/full/{path:path}", dependencies=[Depends(auth.requires(*auth.READ_DATA))]
)
async def array_full(request: Request, path: str) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.array)
    structure = adapter.structure()
    selection = parse_slice(request.query_params.get("slice"))
    shape = selected_shape(structure.shape, selection)
    check_expected_shape(request.query_params.get("expected_shape"), shape)
    media_type = _media_type(request)
    check_size(request, name, shape, structure.data_type.itemsize)
    array = await read_in_thread(request, name, adapter.read, selection)
    return await _respond(request, name, array, media_type)


@router.get(
    "/api/v1/array/block/{path:path}", dependencies=[Depends(auth.requires(*auth.READ_DATA))]
)
async def array_block(request: Request, path: str) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.array)
    structure = adapter.structure()
    block = parse_block(request.query_params.get("block"), structure.ndim)
    try:
        block_shape = structure.block_shape(block)
    except IndexError as err:
        raise ValidationFailure(["query", "block"], f"Block index out of range: {err}") from err
    selection = parse_slice(request.query_params.get("slice"))
    try:
        shape = selected_shape(block_shape, selection)
    except ValueError as err:
        raise ValidationFailure(["query", "slice"], str(err)) from err
    try:
        check_expected_shape(request.query_params.get("expected_shape"), shape)
    except ValueError as err:
        raise ValidationFailure(["query", "expected_shape"], str(err)) from err
    media_type = _media_type(request)
    check_size(request, name, shape, structure.data_type.itemsize)
    array = await read_in_thread(request, name, adapter.read_block, block, selection)
    return await _respond(request, name, array, media_type)
