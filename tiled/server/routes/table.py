"""``/table/partition`` and ``/table/full``: table data, with column selection."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...errors import BadRequestError, InvalidSliceError
from ...media_types import resolve_media_type
from ...serialization.table import encode_table
from ...structures.core import StructureFamily
from .. import auth
from ..params import ParameterError
from ..reading import data_adapter, data_response, read_in_thread

router = APIRouter()


def _columns(request: Request, body: object = None) -> list[str] | None:
    if body is not None:
        if not isinstance(body, list) or not all(isinstance(c, str) for c in body):
            raise BadRequestError("The request body must be a JSON list of column names")
        return list(body) or None
    names = request.query_params.getlist("column") or request.query_params.getlist("field")
    return names or None


def _check_columns(name: str, columns: Sequence[str] | None, known: Sequence[str]) -> None:
    unknown = [c for c in columns or () if c not in known]
    if unknown:
        raise BadRequestError(
            f"Table {name!r} has no column(s) {unknown}; its columns are {list(known)}"
        )


def _partition(request: Request, npartitions: int) -> int:
    text = request.query_params.get("partition")
    if text is None:
        raise ParameterError("partition", "partition is required (an integer)")
    try:
        partition = int(text)
    except ValueError:
        raise ParameterError("partition", f"partition must be an integer, got {text!r}") from None
    if not 0 <= partition < npartitions:
        raise InvalidSliceError(
            f"Partition out of range: {partition} (this table has {npartitions} partitions)"
        )
    return partition


async def _partition_response(request: Request, path: str, body: object = None) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.table)
    structure = adapter.structure()
    partition = _partition(request, structure.npartitions)
    columns = _columns(request, body)
    _check_columns(name, columns, structure.columns)
    media_type = resolve_media_type(
        "table", request.query_params.get("format"), request.headers.get("accept")
    )
    frame = await read_in_thread(request, name, adapter.read_partition, partition, columns)
    encoded = await read_in_thread(request, name, encode_table, frame, media_type)
    return data_response(encoded, media_type, request.query_params.get("filename"))


async def _full_response(request: Request, path: str, body: object = None) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.table)
    columns = _columns(request, body)
    _check_columns(name, columns, adapter.structure().columns)
    media_type = resolve_media_type(
        "table", request.query_params.get("format"), request.headers.get("accept")
    )
    frame = await read_in_thread(request, name, adapter.read, columns)
    encoded = await read_in_thread(request, name, encode_table, frame, media_type)
    return data_response(encoded, media_type, request.query_params.get("filename"))


_READ = [Depends(auth.requires(*auth.READ_DATA))]


@router.get("/api/v1/table/partition/{path:path}", dependencies=_READ)
async def table_partition(request: Request, path: str) -> Response:
    return await _partition_response(request, path)


@router.post("/api/v1/table/partition/{path:path}", dependencies=_READ)
async def table_partition_post(request: Request, path: str) -> Response:
    return await _partition_response(request, path, await _json_body(request))


@router.get("/api/v1/table/full/{path:path}", dependencies=_READ)
async def table_full(request: Request, path: str) -> Response:
    return await _full_response(request, path)


@router.post("/api/v1/table/full/{path:path}", dependencies=_READ)
async def table_full_post(request: Request, path: str) -> Response:
    return await _full_response(request, path, await _json_body(request))


async def _json_body(request: Request) -> object:
    import orjson

    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as err:
        raise BadRequestError(f"The request body is not JSON: {err}") from err
