"""Access logs without secrets, as text or as one JSON object per line.

Each request gives one record on the ``tiled.access`` logger carrying a structured
``access`` field: client, method, path, route template, query with ``api_key`` masked,
status, duration, bytes sent, user agent and a request id (the client's ``X-Request-ID``
when it is well-formed, else a new one; echoed in the response). Headers and cookies are
never logged. uvicorn's own access log is turned off: it would print ``?api_key=``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import route_template

logger = logging.getLogger("tiled.access")
_KEY_IN_QUERY = re.compile(r"(?i)(api_key=)[^&]*")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = b"x-request-id"


def redact_query(query: str) -> str:
    return _KEY_IN_QUERY.sub(r"\1[redacted]", query)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            candidate = bytes(value).decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _user_agent(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            return bytes(value).decode("latin-1")[:200]
    return ""


class AccessLogMiddleware:
    """One record per request, written when the response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        status = 500
        sent = 0

        async def send_and_record(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self._log(scope, request_id, status, sent, time.perf_counter() - start)

    def _log(self, scope: Scope, request_id: str, status: int, sent: int, seconds: float) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        query = redact_query(scope.get("query_string", b"").decode("latin-1"))
        client = scope.get("client") or ("-", 0)
        access = {
            "client": client[0],
            "method": scope["method"],
            "path": scope["path"],
            "route": route_template(scope),
            "query": query,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "bytes": sent,
            "user_agent": _user_agent(scope),
            "request_id": request_id,
        }
        logger.info(
            '%s "%s %s%s" %d %.1fms %dB id=%s',
            client[0],
            scope["method"],
            scope["path"],
            f"?{query}" if query else "",
            status,
            seconds * 1000,
            sent,
            request_id,
            extra={"access": access},
        )


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line; access records carry their fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            entry.update(access)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time, not the one at configuration
    (a command run in-process by a test runner swaps it and closes the old one)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def logging_config(*, verbose: bool = False, log_format: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server, applied in every worker process.

    Access records are always written (INFO on ``tiled.access``); ``verbose`` adds the
    server's own INFO messages. uvicorn's access logger stays quiet.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"Unknown log format {log_format!r}; use 'text' or 'json'")
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonLogFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    handler = {"()": f"{__name__}.StderrHandler", "formatter": "tiled"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tiled": formatter},
        "handlers": {"stderr": handler},
        "loggers": {
            "tiled": {
                "handlers": ["stderr"],
                "level": "INFO" if verbose else "WARNING",
                "propagate": False,
            },
            "tiled.access": {"level": "INFO"},
            # how --watch watches (events or polling) and its reconciliations: a line each
            "tiled.registration.watch": {"level": "INFO"},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"level": "WARNING"},
        },
    }
