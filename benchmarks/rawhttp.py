"""A minimal asyncio HTTP/1.1 keep-alive client for the load benchmark.

Why not httpx: measured on the benchmark's 2 shared cores, httpx (pure-Python h11
parsing, per-chunk event objects, decoding) spent about as much CPU per request as the
server it drove (metadata: 1.2-2.7 ms per request; a 1 MiB block: 6-15 ms), so it, not
the server, set the rate. This client sends the same request line and headers httpx
sends (including its ``Accept-Encoding``, so servers compress exactly as before), checks
the status line, reads the whole body by ``Content-Length`` (or chunked transfer
encoding) without decoding it, and keeps the connection alive. It is the same client
for every server measured.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

# What httpx 0.28 sends by default, so the servers see the same requests as before.
DEFAULT_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate, zstd",
    "Connection": "keep-alive",
    "User-Agent": "python-httpx/0.28.1",
}
_READ_LIMIT = 8 * 1024**2  # one large body is read from the buffer in one piece


class HTTPError(Exception):
    """The server broke HTTP/1.1 framing, or the connection failed."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One keep-alive connection; one request at a time, reopened when the server closes."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        fixed = {"Host": f"{self.host}:{self.port}", **DEFAULT_HEADERS, **headers}
        self._fixed = fixed
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _request_bytes(self, path: str, params: dict, headers: dict) -> bytes:
        target = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        lines = [f"GET {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in {**self._fixed, **headers}.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def get(
        self, path: str, params: dict | None = None, headers: dict | None = None
    ) -> Reply:
        request = self._request_bytes(path, params or {}, headers or {})
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, limit=_READ_LIMIT
                )
            self._writer.write(request)
            return await self._read_reply()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
            await self.close()
            raise HTTPError(f"{type(err).__name__}: {err}") from err

    async def _read_reply(self) -> Reply:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        version, status, _ = (status_line + " ").split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {status_line!r}")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            raise ValueError("a response with neither Content-Length nor chunked encoding")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(int(status), headers, body)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await self._reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append((await self._reader.readexactly(size + 2))[:-2])

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
