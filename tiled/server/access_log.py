"""Access log lines without secrets: the ``api_key`` query parameter is masked and
headers are never logged (uvicorn's own access log is turned off)."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("tiled.access")
_KEY_IN_QUERY = re.compile(r"(?i)(api_key=)[^&]*")


def redact_query(query: str) -> str:
    return _KEY_IN_QUERY.sub(r"\1[redacted]", query)


class AccessLogMiddleware:
    """One line per request: method, path, status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            query = redact_query(scope.get("query_string", b"").decode("latin-1"))
            client = scope.get("client") or ("-", 0)
            logger.info(
                '%s "%s %s%s" %d %.1fms',
                client[0],
                scope["method"],
                scope["path"],
                f"?{query}" if query else "",
                status,
                (time.perf_counter() - start) * 1000,
            )
