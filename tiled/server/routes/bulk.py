"""Bulk registration (our addition, see docs/registering.md): many nodes per request, one
transaction per request, the same checks as ``POST /register`` for each node.

- ``POST /api/v1/bulk/register/{path}`` takes ``{"changes": [...]}`` (JSON or msgpack)
  and answers 200 with one outcome per change: a refused change (403 outside the
  readable directories, 409 key taken, 415 unknown mimetype, ...) fails alone.
- ``GET /api/v1/bulk/registered/{path}`` streams every node below ``path`` with the
  fingerprint of its assets, so ``tiled register`` skips unchanged files unopened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any, Literal

import msgpack
import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response, StreamingResponse

from ...catalog.collector import batch_collection
from ...errors import TiledError
from ...registration.model import Change, NodeEntry, Outcome, Put, Registered, Remove
from ...registration.sinks.catalog import apply_checked
from ...structures.core import Spec
from .. import auth
from ..errors import error_response
from ..node_access import catalog_of, in_thread, split_path
from ..registration_checks import checked_changes, data_sources_of, refusal_of
from ..request_models import NodeBody
from ..responses import MSGPACK, document, wants_msgpack

router = APIRouter()
NDJSON = "application/x-ndjson"
_RECORDS_PER_CHUNK = 1000


class PutChange(BaseModel):
    """Create the node at ``key_path`` (below the URL's path), or replace its content."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["put"]
    key_path: list[str] = Field(min_length=1)
    replace: bool = False
    node: NodeBody


class RemoveChange(BaseModel):
    """Remove the node at ``key_path`` and everything below it (files are not touched)."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["remove"]
    key_path: list[str] = Field(min_length=1)


class BulkBody(BaseModel):
    """Body of ``POST /api/v1/bulk/register/{path}``: changes applied in order."""

    model_config = ConfigDict(extra="forbid")

    changes: list[Annotated[PutChange | RemoveChange, Field(discriminator="op")]]


class OutcomeBody(BaseModel):
    key_path: list[str]
    ok: bool
    status: int | None = None  # the HTTP status of a refusal, e.g. 403, 409, 415
    message: str = ""


class BulkResponse(BaseModel):
    outcomes: list[OutcomeBody]


class RegisteredBody(BaseModel):
    """One line of ``GET /api/v1/bulk/registered/{path}`` (NDJSON, or a msgpack stream)."""

    key_path: list[str]
    structure_family: str
    fingerprint: list[tuple[str, int | None, int | None]]  # sorted (data_uri, size, mtime_ns)


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` inlined, to sit in openapi_extra."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(value: Any) -> Any:
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in value.items()}
        if isinstance(value, list):
            return [inline(v) for v in value]
        return value

    return inline(schema)


_BODY_SCHEMA = _inline_schema(BulkBody)
_REGISTERED_SCHEMA = _inline_schema(RegisteredBody)  # once: each costs ~15 ms at start-up
_REGISTER_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _BODY_SCHEMA},
            MSGPACK: {"schema": _BODY_SCHEMA},
        },
    },
    "responses": {
        "413": {"description": "More changes than the server's limit, or a body too large"},
        "422": {"description": "A malformed body"},
    },
}
_REGISTERED_OPENAPI = {
    "responses": {
        "200": {
            "description": "One record per node, parents first (NDJSON, or msgpack objects "
            "one after another when the client accepts application/x-msgpack)",
            "content": {
                NDJSON: {"schema": _REGISTERED_SCHEMA},
                MSGPACK: {"schema": _REGISTERED_SCHEMA},
            },
        }
    }
}


@router.post(
    "/api/v1/bulk/register/{path:path}",
    dependencies=[Depends(auth.requires(*auth.REGISTER))],
    response_model=BulkResponse,
    openapi_extra=_REGISTER_OPENAPI,
    summary="Register, replace or remove many nodes in one transaction",
)
async def bulk_register(request: Request, path: str) -> Response:
    with batch_collection():
        return await _bulk_register(request, path)


async def _bulk_register(request: Request, path: str) -> Response:
    body = await _decoded_body(request)
    limit = request.app.state.settings.max_bulk_changes
    changes = body.get("changes") if isinstance(body, dict) else None
    if isinstance(changes, list) and len(changes) > limit:
        return error_response(
            413,
            f"{len(changes):,} changes in one request; this server's limit is {limit:,}. "
            "Send them in several requests.",
        )
    try:
        parsed = BulkBody.model_validate(body)
    except ValidationError as err:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    domain = [_domain_change(item) for item in parsed.changes]
    readable = request.app.state.settings.readable
    ready = [c for c in domain if not isinstance(c, Outcome)]
    check = partial(checked_changes, rules_checked=True)
    checked = iter(await in_thread(request, check, ready, readable) if ready else [])
    merged = [c if isinstance(c, Outcome) else next(checked) for c in domain]
    outcomes = await apply_checked(catalog_of(request), split_path(path), merged)
    return document(request, {"outcomes": [_outcome_json(o) for o in outcomes]})


async def _decoded_body(request: Request) -> Any:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    try:
        if "msgpack" in content_type:
            return msgpack.unpackb(raw, raw=False, strict_map_key=False)
        return orjson.loads(raw)
    except (ValueError, msgpack.UnpackException, orjson.JSONDecodeError) as err:
        kind = "msgpack" if "msgpack" in content_type else "JSON"
        raise RequestValidationError(
            [{"type": "value_error", "loc": ["body"], "msg": f"Not valid {kind}: {err}"}]
        ) from None


def _domain_change(item: PutChange | RemoveChange) -> Change | Outcome:
    key_path = tuple(item.key_path)
    if isinstance(item, RemoveChange):
        return Remove(key_path)
    node = item.node
    try:
        data_sources = data_sources_of(node, allow_none=True)
    except TiledError as err:
        status, message = refusal_of(err)
        return Outcome(key_path, False, message, status)
    entry = NodeEntry(
        key_path=key_path,
        structure_family=node.structure_family,
        metadata=node.metadata,
        specs=[Spec(s.name, s.version) for s in node.specs],
        data_sources=data_sources,
    )
    return Put(entry, replace=item.replace)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "key_path": list(outcome.key_path),
        "ok": outcome.ok,
        "status": outcome.status,
        "message": outcome.message,
    }


@router.get(
    "/api/v1/bulk/registered/{path:path}",
    dependencies=[Depends(auth.requires(*auth.READ_METADATA))],
    openapi_extra=_REGISTERED_OPENAPI,
    summary="Fingerprints of every node below a path, streamed",
)
async def bulk_registered(request: Request, path: str) -> Response:
    records = catalog_of(request).registered_under(split_path(path))
    try:  # a missing path is a 404 before the stream starts
        first = await anext(records)
    except StopAsyncIteration:
        first = None
    as_msgpack = wants_msgpack(request)
    encode = _msgpack_record if as_msgpack else _ndjson_record
    return StreamingResponse(
        _chunks(first, records, encode), media_type=MSGPACK if as_msgpack else NDJSON
    )


def _record(registered: Registered) -> dict[str, Any]:
    return {
        "key_path": list(registered.key_path),
        "structure_family": registered.structure_family.value,
        "fingerprint": [list(f) for f in registered.fingerprint],
    }


def _ndjson_record(registered: Registered) -> bytes:
    return orjson.dumps(_record(registered)) + b"\n"


def _msgpack_record(registered: Registered) -> bytes:
    return msgpack.packb(_record(registered))


async def _chunks(
    first: Registered | None, rest: AsyncIterator[Registered], encode: Any
) -> AsyncIterator[bytes]:
    if first is None:
        return
    buffer = [encode(first)]
    async for registered in rest:
        buffer.append(encode(registered))
        if len(buffer) >= _RECORDS_PER_CHUNK:
            yield b"".join(buffer)
            buffer = []
    if buffer:
        yield b"".join(buffer)
