"""``/container/full``: a whole container exported at once, as HDF5 (Tiled's default) or
as a JSON tree of metadata.

The export is planned first from the catalog and the structures (no data read), and
refused with a 400 that states the limit when it has more nodes than
``max_export_nodes`` or, for HDF5, more data than ``max_response_bytes``. The HDF5 file
is written to a temporary file one array part or table at a time and then streamed, so
memory stays bounded whatever the size of the container.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from ...errors import (
    BadRequestError,
    DataUnavailableError,
    NotFoundError,
    ResponseTooLargeError,
    TiledError,
)
from ...media_types import HDF5, JSON, resolve_media_type
from ...serialization.container import ExportNode, as_json, write_hdf5
from ...structures.core import StructureFamily
from .. import auth, openapi
from ..node_access import (
    ResolvedNode,
    adapter_of,
    catalog_of,
    naming,
    open_record_adapter,
    resolve,
    split_path,
)
from ..reading import data_response, download_headers, guarded, read_in_thread, response_limit

logger = logging.getLogger("tiled.server")
router = APIRouter()
_READ = [Depends(auth.requires(*auth.READ_DATA))]
_PAGE = 300
_SEND_BYTES = 1024**2


class _Budget:
    """Counts planned nodes and bytes; refuses (400) as soon as either is over its limit."""

    def __init__(self, root: str, max_nodes: int, max_bytes: int | None) -> None:
        self.root = root
        self.max_nodes = max_nodes
        self.max_bytes = max_bytes
        self.nodes = 0
        self.nbytes = 0

    def check_room(self, nodes: int) -> None:
        """Refuse now if ``nodes`` more would already be over the node limit."""
        self.add(nodes)
        self.nodes -= nodes

    def add(self, nodes: int = 1, nbytes: int = 0) -> None:
        self.nodes += nodes
        if self.nodes > self.max_nodes:
            raise ResponseTooLargeError(
                f"Exporting container {self.root!r} would include more than this server's "
                f"limit of {self.max_nodes:,} nodes; export a smaller container, select "
                "children with field=, or read the nodes one by one"
            )
        self.nbytes += nbytes
        if self.max_bytes is not None and self.nbytes > self.max_bytes:
            raise ResponseTooLargeError(
                f"Exporting container {self.root!r} would send more than this server's "
                f"limit of {self.max_bytes:,} bytes of data; export a smaller container, "
                "select children with field=, or read the arrays and tables one by one"
            )


def _not_a_container(name: str, family: StructureFamily) -> NotFoundError:
    return NotFoundError(
        f"The node {name!r} has structure family {family.value!r}; this route serves "
        "'container' nodes"
    )


def _plan_adapter(
    key: str, name: str, adapter: Any, budget: _Budget, metadata: dict[str, Any] | None = None
) -> ExportNode:
    """The plan of a node inside a file and everything below it (blocking: reads headers)."""
    family = StructureFamily(adapter.structure_family)
    node = ExportNode(
        key, family, adapter.metadata() if metadata is None else metadata, name, adapter=adapter
    )
    if family == StructureFamily.container:
        budget.add()
        keys: list[str] = adapter.keys()
        for child_key in keys:
            child = _plan_adapter(child_key, f"{name}/{child_key}", adapter[child_key], budget)
            node.children.append(child)
    elif family == StructureFamily.table:
        structure = adapter.structure()
        node.columns = list(structure.columns)
        node.nbytes = adapter.estimated_nbytes(None, None) or 0
        budget.add(1 + len(node.columns), node.nbytes)
    else:
        structure = adapter.structure()
        node.nbytes = math.prod(structure.shape) * structure.data_type.itemsize
        budget.add(1, node.nbytes)
    return node


async def _plan_record(request: Request, record: Any, budget: _Budget) -> ExportNode:
    """The plan of a catalog node: a catalog container, or a node backed by files."""
    name = "/".join(record.path)
    if record.data_sources:
        adapter = await read_in_thread(request, name, open_record_adapter, request, record)
        return await read_in_thread(
            request, name, _plan_adapter, record.key, name, adapter, budget, record.metadata
        )
    if record.structure_family != StructureFamily.container:
        raise DataUnavailableError(f"The node {name!r} has no data to export")
    budget.add()
    node = ExportNode(record.key, record.structure_family, record.metadata, name)
    catalog = catalog_of(request)
    offset = 0
    while True:
        found = await catalog.page(record.path, limit=_PAGE, offset=offset)
        if offset == 0:
            budget.check_room(found.count)  # refuse a huge container before paging it
        for child in found.records:
            node.children.append(await _plan_record(request, child, budget))
        offset += len(found.records)
        if not found.records or offset >= found.count:
            return node


async def _plan(
    request: Request, resolved: ResolvedNode, fields: Sequence[str] | None, budget: _Budget
) -> ExportNode:
    """The plan of the container at ``resolved``, keeping only ``fields`` among its
    children when given (an unknown one is a 400)."""
    name = budget.root
    record = resolved.record
    if resolved.is_catalog_node and not record.data_sources:
        if record.structure_family != StructureFamily.container:
            raise _not_a_container(name, record.structure_family)
        if fields is None:
            return await _plan_record(request, record, budget)
        budget.add()
        root = ExportNode(record.key, record.structure_family, record.metadata, name)
        catalog = catalog_of(request)
        for key in fields:
            try:
                child = await catalog.lookup((*record.path, key))
            except NotFoundError:
                raise _no_such_field(name, key) from None
            root.children.append(await _plan_record(request, child, budget))
        return root
    adapter = await guarded(name, adapter_of, request, resolved)
    family = StructureFamily(adapter.structure_family)
    if family != StructureFamily.container:
        raise _not_a_container(name, family)
    metadata = record.metadata if resolved.is_catalog_node else None
    key = resolved.path[-1] if resolved.path else ""
    if fields is None:
        return await read_in_thread(
            request, name, _plan_adapter, key, name, adapter, budget, metadata
        )

    def selected() -> ExportNode:
        budget.add()
        known = set(adapter.keys())
        root = ExportNode(key, family, adapter.metadata() if metadata is None else metadata, name)
        for field in fields:
            if field not in known:
                raise _no_such_field(name, field)
            root.children.append(_plan_adapter(field, f"{name}/{field}", adapter[field], budget))
        return root

    return await read_in_thread(request, name, selected)


def _no_such_field(name: str, key: str) -> BadRequestError:
    return BadRequestError(f"No such field {key!r}: the container {name!r} has no child {key!r}")


def _fields(request: Request, body: object = None) -> list[str] | None:
    if body is not None:
        if not isinstance(body, list) or not all(isinstance(f, str) for f in body):
            raise BadRequestError("The request body must be a JSON list of child keys (fields)")
        return list(body) or None
    return request.query_params.getlist("field") or None


def _write_file(root: ExportNode, limit: int) -> IO[bytes]:
    """The HDF5 export in a temporary file (blocking); failures name the node at fault."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response, or below)
    current = [root]

    def check(node: ExportNode) -> None:
        if file.tell() > limit:
            raise ResponseTooLargeError(
                f"Exporting container {root.name!r} produces more than this server's limit "
                f"of {limit:,} bytes; export a smaller container or select children with field="
            )
        current[0] = node

    try:
        write_hdf5(root, file, check)
    except BaseException as err:
        file.close()
        if isinstance(err, DataUnavailableError):
            raise naming(err, current[0].name) from err
        if isinstance(err, TiledError) or not isinstance(err, Exception):
            raise
        logger.warning("Exporting node %r failed: %r", current[0].name, err)
        raise DataUnavailableError(
            f"The data of node {current[0].name!r} cannot be exported "
            f"({type(err).__name__}); the file may be corrupt or truncated"
        ) from err
    return file


async def _hdf5_response(request: Request, root: ExportNode, filename: str | None) -> Response:
    limit = response_limit(request)
    file = await read_in_thread(request, root.name, _write_file, root, limit)
    size = file.seek(0, 2)
    if size > limit:
        file.close()
        raise ResponseTooLargeError(
            f"Exporting container {root.name!r} produces {size:,} bytes, over this server's "
            f"limit of {limit:,} bytes; export a smaller container or select children with field="
        )
    file.seek(0)
    headers = download_headers(filename)
    headers["Content-Length"] = str(size)

    async def body() -> AsyncIterator[bytes]:
        try:
            while chunk := await read_in_thread(request, root.name, file.read, _SEND_BYTES):
                yield chunk
        finally:
            file.close()

    return StreamingResponse(body(), media_type=HDF5, headers=headers)


async def _export(request: Request, path: str, body: object) -> Response:
    resolved = await resolve(request, split_path(path))
    name = "/".join(resolved.path)
    media_type = resolve_media_type(
        "container", request.query_params.get("format"), request.headers.get("accept")
    )
    settings = request.app.state.settings
    max_bytes = response_limit(request) if media_type == HDF5 else None
    budget = _Budget(name, settings.max_export_nodes, max_bytes)
    root = await _plan(request, resolved, _fields(request, body), budget)
    filename = request.query_params.get("filename")
    if media_type == HDF5:
        return await _hdf5_response(request, root, filename)
    encoded = await read_in_thread(request, name, as_json, root)
    return await data_response(request, encoded, JSON, filename)


@router.get(
    "/api/v1/container/full/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.CONTAINER_FULL),
)
async def container_full(request: Request, path: str) -> Response:
    return await _export(request, path, None)


@router.post(
    "/api/v1/container/full/{path:path}",
    dependencies=_READ,
    openapi_extra=openapi.declared(openapi.CONTAINER_FULL, openapi.FIELDS_BODY),
)
async def container_full_post(request: Request, path: str) -> Response:
    raw = await request.body()
    body = None
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise BadRequestError(f"The request body is not JSON: {err}") from err
    return await _export(request, path, body)
