"""Document responses: msgpack when the client asks for it, JSON otherwise.

The official client picks its decoder by an exact compare of Content-Type, so the
types carry no parameters.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import msgpack
import orjson
from fastapi import Request
from starlette.responses import Response

MSGPACK = "application/x-msgpack"
JSON = "application/json"
_COMPRESS_MIN_BYTES = 1400


def _msgpack_default(value: Any) -> Any:
    """Datetimes become msgpack Timestamps, which the official client decodes to datetimes.

    Naive ones are UTC (SQLite drops the offset of ``DateTime(timezone=True)``).
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return msgpack.Timestamp.from_datetime(value)
    raise TypeError(f"Cannot encode {type(value).__name__} in msgpack")


def wants_msgpack(request: Request) -> bool:
    return MSGPACK in request.headers.get("accept", "")


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def document(request: Request, content: Any, headers: dict[str, str] | None = None) -> Response:
    """Encode a JSON-like document for the client; gzip large ones when it accepts gzip."""
    if wants_msgpack(request):
        body = msgpack.packb(content, default=_msgpack_default, datetime=False)
        media_type = MSGPACK
    else:
        body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC)
        media_type = JSON
    headers = dict(headers or {})
    if len(body) >= _COMPRESS_MIN_BYTES and accepts_gzip(request):
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    return Response(body, media_type=media_type, headers=headers)
