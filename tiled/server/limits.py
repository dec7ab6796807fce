"""Limits that keep one request, or one client, from harming the others.

- Request bodies: over ``max_request_bytes`` is 413, from Content-Length before anything
  is read, or while a chunked body streams in.
- Responses: a body declared over ``max_response_bytes`` is replaced by a 400 that says
  so (the data routes check sizes before reading; this catches every other route).
- Time: a response must start within ``request_timeout`` (else 503, and the handler is
  cancelled; a blocked file read is abandoned, see ``threads.py``). A client that sends
  nothing of its announced body, or reads nothing of the response, for ``idle_timeout``
  is dropped (408 if the response has not started), so a slow or stalled client holds a
  socket and at most one chunk of buffered data, never a worker or a thread.
- Large response bodies go out in chunks, so the process never hands the socket more
  than one chunk at a time for a client that reads slowly.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import ServerSettings

logger = logging.getLogger("tiled.server")
SEND_CHUNK_BYTES = 1024**2


class _ClientStalled(Exception):
    """The client read nothing for the idle timeout."""


def _content_length(headers: Any) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _reject(send: Send, status: int, detail: str, retry_after: int | None = None) -> None:
    from .errors import error_response

    headers = {"Connection": "close"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    response = error_response(status, detail, headers)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class LimitsMiddleware:
    """Body size, response size and time limits for every HTTP request."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope.get("headers", ()))
        if declared is not None and declared < 0:
            await _reject(send, 400, "The Content-Length header is not a number")
            return
        if declared is not None and declared > self.settings.max_request_bytes:
            await _reject(send, 413, self._too_large_message(declared))
            return
        await _LimitedRequest(self, scope, receive, send).run()

    def _too_large_message(self, size: int) -> str:
        return (
            f"The request body ({size:,} bytes or more) is over this server's limit of "
            f"{self.settings.max_request_bytes:,} bytes; send fewer nodes per request"
        )


class _LimitedRequest:
    """The state of one request going through :class:`LimitsMiddleware`."""

    def __init__(self, owner: LimitsMiddleware, scope: Scope, receive: Receive, send: Send):
        self.settings = owner.settings
        self.owner = owner
        self.scope = scope
        self._receive = receive
        self._send = send
        self.received = 0
        self.body_done = False
        self.started = False
        self.replaced = False
        self.awaiting_body = False
        self.timer = anyio.CancelScope()

    async def run(self) -> None:
        self.timer.deadline = anyio.current_time() + self.settings.request_timeout
        try:
            with self.timer:
                await self.owner.app(self.scope, self.receive, self.send)
        except _ClientStalled:
            logger.warning(
                "Dropped a client that read nothing for %.0f s: %s %s",
                self.settings.idle_timeout,
                self.scope["method"],
                self.scope["path"],
            )
            return  # the server closes the connection
        if self.timer.cancelled_caught and not self.started and self.awaiting_body:
            await _reject(self._send, 408, "The request body did not arrive in time")
        elif self.timer.cancelled_caught and not self.started:
            logger.warning(
                "%s %s took over %.0f s and was cancelled",
                self.scope["method"],
                self.scope["path"],
                self.settings.request_timeout,
            )
            await _reject(
                self._send,
                503,
                f"The request took longer than this server's limit of "
                f"{self.settings.request_timeout:g} s and was stopped; ask for less data "
                "(a slice, a block, a smaller page) or try again later",
                retry_after=5,
            )

    async def receive(self) -> Message:
        if self.body_done:
            return await self._receive()  # waiting for a disconnect: no time limit
        self.awaiting_body = True
        with anyio.move_on_after(self.settings.idle_timeout) as idle:
            message = await self._receive()
        self.awaiting_body = False
        if idle.cancelled_caught:
            raise HTTPException(
                408,
                f"The request body stalled: nothing arrived for {self.settings.idle_timeout:g} s",
            )
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.settings.max_request_bytes:
                raise HTTPException(413, self.owner._too_large_message(self.received))
            self.body_done = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            length = _content_length(message.get("headers", ()))
            if length is not None and length > self.settings.max_response_bytes:
                self.replaced = True
                await _reject(self._send, 400, self._response_too_large(length))
                return
            self.started = True
            self.timer.deadline = math.inf  # the response is under way: no deadline now
        elif self.replaced:
            return  # the body of a response we replaced
        elif message["type"] == "http.response.body":
            await self._send_body(message)
            return
        await self._send_within_idle(message)

    async def _send_body(self, message: Message) -> None:
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) <= SEND_CHUNK_BYTES:
            await self._send_within_idle(message)
            return
        view = memoryview(body)
        for offset in range(0, len(body), SEND_CHUNK_BYTES):
            chunk = view[offset : offset + SEND_CHUNK_BYTES]
            last = offset + SEND_CHUNK_BYTES >= len(body)
            await self._send_within_idle(
                {"type": "http.response.body", "body": chunk, "more_body": more or not last}
            )

    async def _send_within_idle(self, message: Message) -> None:
        with anyio.move_on_after(self.settings.idle_timeout) as idle:
            await self._send(message)
        if idle.cancelled_caught:
            raise _ClientStalled

    def _response_too_large(self, length: int) -> str:
        return (
            f"The response would be {length:,} bytes, over this server's limit of "
            f"{self.settings.max_response_bytes:,} bytes; request a slice, a block, a "
            "partition or a smaller page"
        )
