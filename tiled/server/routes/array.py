"""``/array/full`` and ``/array/block``: array data, whole, sliced or block by block.

The shape of the answer is known before anything is read, so malformed or oversized
requests are refused without touching the file; the read itself covers only the
selection (a block is a hyperslab of the file, not the whole array).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...errors import BadRequestError
from ...media_types import resolve_media_type
from ...serialization.array import encode_array, encoded_size
from ...structures.core import StructureFamily
from .. import auth
from ..errors import ValidationFailure
from ..params import check_expected_shape, parse_block, parse_slice, selected_shape
from ..reading import check_size, data_adapter, data_response, read_in_thread

router = APIRouter()
_READ = [Depends(auth.requires(*auth.READ_DATA))]


def _media_type(request: Request) -> str:
    return resolve_media_type(
        "array", request.query_params.get("format"), request.headers.get("accept")
    )


async def _respond(
    request: Request, name: str, structure: Any, shape: tuple[int, ...], read: Any, *args: Any
) -> Response:
    media_type = _media_type(request)
    nbytes = encoded_size(shape, structure.data_type.itemsize, media_type)
    check_size(request, name, nbytes, f"an array of shape {list(shape)}")
    array = await read_in_thread(request, name, read, *args)
    body = await read_in_thread(request, name, encode_array, array, media_type)
    return await data_response(request, body, media_type, request.query_params.get("filename"))


@router.get("/api/v1/array/full/{path:path}", dependencies=_READ)
async def array_full(request: Request, path: str) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.array)
    structure = await read_in_thread(request, name, adapter.structure)
    selection = parse_slice(request.query_params.get("slice"))
    shape = selected_shape(structure.shape, selection)
    check_expected_shape(request.query_params.get("expected_shape"), shape)
    return await _respond(request, name, structure, shape, adapter.read, selection)


@router.get("/api/v1/array/block/{path:path}", dependencies=_READ)
async def array_block(request: Request, path: str) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.array)
    structure = await read_in_thread(request, name, adapter.structure)
    block = parse_block(request.query_params.get("block"), structure.ndim)
    try:
        block_shape = structure.block_shape(block)
    except IndexError as err:
        raise ValidationFailure(["query", "block"], f"Block index out of range: {err}") from err
    selection = parse_slice(request.query_params.get("slice"))
    try:
        shape = selected_shape(block_shape, selection)
    except (BadRequestError, ValueError) as err:
        raise ValidationFailure(["query", "slice"], str(err)) from err
    try:
        check_expected_shape(request.query_params.get("expected_shape"), shape)
    except (BadRequestError, ValueError) as err:
        raise ValidationFailure(["query", "expected_shape"], str(err)) from err
    return await _respond(request, name, structure, shape, adapter.read_block, block, selection)
