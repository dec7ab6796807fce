"""``/array/full`` and ``/array/block``: array data, whole, sliced or block by block.

The shape of the answer is known before anything is read, so malformed or oversized
requests are refused without touching the file; the read itself covers only the
selection (a block is a hyperslab of the file, not the whole array).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...adapters.selection import (
    Normalised,
    as_slices,
    normalise,
    pieces,
    result_shape,
    within_block,
)
from ...errors import BadRequestError
from ...media_types import OCTET_STREAM, resolve_media_type
from ...serialization.array import array_bytes, encode_array, encoded_size
from ...structures.core import StructureFamily
from .. import auth, openapi
from ..errors import ValidationFailure
from ..params import check_expected_shape, parse_block, parse_slice, selected_shape
from ..reading import (
    check_size,
    data_adapter,
    data_response,
    read_in_thread,
    streamed_array_response,
)

router = APIRouter()
STREAM_ABOVE_BYTES = 32 * 1024**2
"""Raw responses larger than this are read and sent in parts of about STREAM_PART_BYTES."""
STREAM_PART_BYTES = 8 * 1024**2
_READ = [Depends(auth.requires(*auth.READ_DATA))]


def _media_type(request: Request) -> str:
    return resolve_media_type(
        "array", request.query_params.get("format"), request.headers.get("accept")
    )


async def _respond(
    request: Request, name: str, adapter: Any, selection: Normalised, read: Any, *args: Any
) -> Response:
    """Read ``selection`` (of the whole array) with ``read(*args)`` and encode it; large
    raw reads are cut into parts along the first axis and streamed as they are read."""
    structure = adapter.structure()
    shape = result_shape(selection)
    itemsize = structure.data_type.itemsize
    media_type = _media_type(request)
    nbytes = encoded_size(shape, itemsize, media_type)
    check_size(request, name, nbytes, f"an array of shape {list(shape)}")
    filename = request.query_params.get("filename")
    if media_type == OCTET_STREAM and nbytes > STREAM_ABOVE_BYTES:
        parts = pieces(selection, itemsize, STREAM_PART_BYTES, structure.chunks)
        if len(parts) > 1:
            slices = [as_slices(part) for part in parts]
            return await streamed_array_response(
                request, name, adapter.read, slices, nbytes, media_type, filename
            )
    array = await read_in_thread(request, name, read, *args)
    if media_type == OCTET_STREAM and array.flags.c_contiguous:
        body = array_bytes(array)  # a view: no work worth a trip to a thread
    else:
        body = await read_in_thread(request, name, encode_array, array, media_type)
    return await data_response(request, body, media_type, filename)


async def _structure(request: Request, name: str, adapter: Any) -> Any:
    """The adapter's structure, read in a worker thread only when the file must say it."""
    known = getattr(adapter, "known_structure", None)
    structure = known() if known is not None else None
    if structure is None:
        structure = await read_in_thread(request, name, adapter.structure)
    return structure


@router.get(
    "/api/v1/array/full/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.ARRAY_FULL),
)
async def array_full(request: Request, path: str) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.array)
    structure = await _structure(request, name, adapter)
    selection = parse_slice(request.query_params.get("slice"))
    shape = selected_shape(structure.shape, selection)
    check_expected_shape(request.query_params.get("expected_shape"), shape)
    normalised = normalise(selection, structure.shape)
    return await _respond(request, name, adapter, normalised, adapter.read, selection)


@router.get(
    "/api/v1/array/block/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.ARRAY_BLOCK),
)
async def array_block(request: Request, path: str) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.array)
    structure = await _structure(request, name, adapter)
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
    normalised = within_block(structure.block_offset(block), block_shape, selection)
    return await _respond(request, name, adapter, normalised, adapter.read_block, block, selection)
