"""``/table/partition`` and ``/table/full``: table data, with column selection.

Columns come from repeated ``column=`` parameters (``field=`` is the old name) or, for
long lists, a JSON list in the body of a POST. Only the columns asked for are read.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...errors import BadRequestError, InvalidSliceError
from ...media_types import resolve_media_type
from ...serialization.table import encode_table
from ...structures.core import StructureFamily
from .. import auth, openapi
from ..params import ParameterError
from ..reading import check_size, data_adapter, data_response, read_in_thread

router = APIRouter()
_READ = [Depends(auth.requires(*auth.READ_DATA))]


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


async def _table_response(request: Request, path: str, body: object, whole: bool) -> Response:
    name, adapter = await data_adapter(request, path, StructureFamily.table)
    structure = await read_in_thread(request, name, adapter.structure)
    partition = None if whole else _partition(request, structure.npartitions)
    columns = _columns(request, body)
    _check_columns(name, columns, structure.columns)
    media_type = resolve_media_type(
        "table", request.query_params.get("format"), request.headers.get("accept")
    )
    nbytes = await read_in_thread(request, name, adapter.estimated_nbytes, partition, columns)
    what = "the whole table" if partition is None else f"partition {partition}"
    check_size(request, name, nbytes, what)
    if partition is None:
        table = await read_in_thread(request, name, adapter.read, columns)
    else:
        table = await read_in_thread(request, name, adapter.read_partition, partition, columns)
    encoded = await read_in_thread(request, name, encode_table, table, media_type)
    return await data_response(request, encoded, media_type, request.query_params.get("filename"))


@router.get(
    "/api/v1/table/partition/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.TABLE_PARTITION),
)
async def table_partition(request: Request, path: str) -> Response:
    return await _table_response(request, path, None, whole=False)


@router.post(
    "/api/v1/table/partition/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.TABLE_PARTITION, openapi.COLUMNS_BODY),
)
async def table_partition_post(request: Request, path: str) -> Response:
    return await _table_response(request, path, await _json_body(request), whole=False)


@router.get(
    "/api/v1/table/full/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.TABLE_FULL),
)
async def table_full(request: Request, path: str) -> Response:
    return await _table_response(request, path, None, whole=True)


@router.post(
    "/api/v1/table/full/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.TABLE_FULL, openapi.COLUMNS_BODY),
)
async def table_full_post(request: Request, path: str) -> Response:
    return await _table_response(request, path, await _json_body(request), whole=True)


async def _json_body(request: Request) -> object:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequestError(f"The request body is not JSON: {err}") from err
