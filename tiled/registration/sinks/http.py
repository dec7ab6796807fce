"""The HTTP sink: a server's bulk endpoints (``tiled register``).

Batches go out as msgpack to ``POST /api/v1/bulk/register/{prefix}``; the listing comes
from ``GET /api/v1/bulk/registered/{prefix}`` as a msgpack stream. Connection failures and
503s are retried with back-off; a 401 or 403 stops with :class:`SinkAuthenticationError`.

A batch whose answer was lost (the connection broke after the request went out) may
already be applied when it is sent again. The second answer then refuses what the first
attempt did: a new node "already exists" (409), a removed one is "not found" (404). Those
refusals are the state the batch asked for, so they count as done, with a note saying so.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

import httpx
import msgpack

from ...structures.core import StructureFamily
from ..encoding import change_body, encode_changes, node_body
from ..model import Change, KeyPath, Outcome, Put, Registered

MSGPACK = "application/x-msgpack"
API_KEY_ENV = "TILED_API_KEY"
_RETRY_STATUSES = (502, 503, 504)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before a request could reach the server."""


__all__ = ["HttpSink", "SinkAuthenticationError", "SinkError", "change_body", "node_body"]


class SinkError(RuntimeError):
    """The server refused a whole request (not one change of it)."""


class SinkAuthenticationError(SinkError):
    """The server does not accept our credentials for registration."""


class HttpSink:
    """Writes changes through a tiled server's bulk registration endpoint.

    ``api_key`` defaults to ``$TILED_API_KEY``. ``batch_limit`` caps the changes per
    request (the server's own limit is 5,000 by default); a request the server finds
    too large (413) is split in two and sent again.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        prefix: KeyPath = (),
        *,
        timeout: float = 120.0,
        batch_limit: int = 1000,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        if batch_limit < 1:
            raise ValueError("batch_limit must be at least 1")
        root = base_url.rstrip("/")
        root = root.removesuffix("/api/v1")
        self.prefix = tuple(prefix)
        self.batch_limit = batch_limit
        self.retries = retries
        self.backoff = backoff
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        headers = {"Accept": MSGPACK}
        if key:
            headers["Authorization"] = f"Apikey {key}"
        # A plain-HTTP server needs no TLS context; building the default one loads the
        # system's certificates (80 ms of CPU per client). Redirects are not followed, so
        # no request can move to HTTPS unverified.
        verify = not root.lower().startswith("http://")
        self._client = httpx.AsyncClient(
            base_url=root, headers=headers, timeout=timeout, verify=verify
        )
        self._path = "/".join(quote(k, safe="") for k in self.prefix)

    async def registered(self) -> AsyncIterator[Registered]:
        url = f"/api/v1/bulk/registered/{self._path}"
        started = False  # once records went out, a retry would repeat them: fail instead
        for attempt in range(self.retries + 1):
            try:
                async with self._client.stream("GET", url) as response:
                    if response.status_code in _RETRY_STATUSES and attempt < self.retries:
                        await self._pause(attempt, response)
                        continue
                    await self._raise_for(response, "list what is registered under")
                    unpacker = msgpack.Unpacker(raw=False)
                    async for chunk in response.aiter_bytes():
                        unpacker.feed(chunk)
                        for record in unpacker:
                            started = True
                            yield Registered(
                                key_path=tuple(record["key_path"]),
                                structure_family=StructureFamily(record["structure_family"]),
                                fingerprint=tuple(
                                    (uri, size, mtime) for uri, size, mtime in record["fingerprint"]
                                ),
                            )
                    return
            except httpx.TransportError as err:
                if started or attempt >= self.retries:
                    raise SinkError(f"Cannot reach {self._client.base_url}: {err!r}") from err
                await self._pause(attempt, None)

    async def apply(self, changes: Sequence[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(changes), self.batch_limit):
            outcomes += await self._send(list(changes[start : start + self.batch_limit]))
        return outcomes

    async def _send(self, changes: list[Change]) -> list[Outcome]:
        if not changes:
            return []
        body = encode_changes(changes)
        response, maybe_applied = await self._post(body)
        if response.status_code == 413 and len(changes) > 1:
            half = len(changes) // 2
            return await self._send(changes[:half]) + await self._send(changes[half:])
        await self._raise_for(response, "register under")
        payload = msgpack.unpackb(response.content, raw=False)
        outcomes = [
            Outcome(
                key_path=tuple(o["key_path"]),
                ok=bool(o["ok"]),
                message=o.get("message") or "",
                status=o.get("status"),
            )
            for o in payload["outcomes"]
        ]
        if maybe_applied:
            outcomes = [_after_lost_answer(c, o) for c, o in zip(changes, outcomes, strict=True)]
        return outcomes

    async def _post(self, body: bytes) -> tuple[httpx.Response, bool]:
        """The server's answer, and whether an earlier attempt may have been applied
        (it reached the server but its answer was lost)."""
        url = f"/api/v1/bulk/register/{self._path}"
        maybe_applied = False
        for attempt in range(self.retries + 1):
            try:
                response = await self._client.post(
                    url, content=body, headers={"Content-Type": MSGPACK}
                )
            except httpx.TransportError as err:
                if attempt >= self.retries:
                    raise SinkError(f"Cannot reach {self._client.base_url}: {err!r}") from err
                maybe_applied = maybe_applied or not isinstance(err, _NOT_SENT)
                await self._pause(attempt, None)
                continue
            if response.status_code in _RETRY_STATUSES and attempt < self.retries:
                await self._pause(attempt, response)
                continue
            return response, maybe_applied
        raise AssertionError("unreachable")

    async def _pause(self, attempt: int, response: httpx.Response | None) -> None:
        delay = self.backoff * 2**attempt
        if response is not None:
            try:
                delay = max(delay, float(response.headers.get("retry-after", 0)))
            except ValueError:
                pass
        await asyncio.sleep(min(delay, 30.0))

    async def _raise_for(self, response: httpx.Response, doing: str) -> None:
        if response.status_code == 200:
            return
        await response.aread()
        detail = _detail(response)
        where = f"{self._client.base_url}/{self._path}"
        if response.status_code in (401, 403):
            raise SinkAuthenticationError(
                f"The server at {self._client.base_url} refused our credentials "
                f"({response.status_code}: {detail}). Pass --api-key or set {API_KEY_ENV} to "
                "a key that may register."
            )
        raise SinkError(f"Could not {doing} {where}: {response.status_code} {detail}")

    async def close(self) -> None:
        await self._client.aclose()


def _after_lost_answer(change: Change, outcome: Outcome) -> Outcome:
    """A refusal that only says an earlier, unanswered attempt already did the change."""
    already = (isinstance(change, Put) and not change.replace and outcome.status == 409) or (
        not isinstance(change, Put) and outcome.status == 404
    )
    if outcome.ok or not already:
        return outcome
    return Outcome(
        key_path=outcome.key_path,
        ok=True,
        message="applied by an earlier attempt whose answer was lost",
    )


def _detail(response: httpx.Response) -> str:
    try:
        if response.headers.get("content-type", "").startswith(MSGPACK):
            payload = msgpack.unpackb(response.content, raw=False)
        else:
            payload = response.json()
        return str(payload.get("detail", payload))
    except Exception:
        return response.text[:500]
