"""The connection to one server: URL forms, the API key, retries, and error responses.

Everything that crosses the network goes through :class:`Context`, so retries, the
key and the translation of error responses into exceptions live in one place.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import weakref
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import msgpack

from .errors import (
    ClientConnectionError,
    ClientNotFoundError,
    NoAPIKeyError,
    error_for_response,
)

__all__ = ["API_KEY_ENV", "Context", "ParsedURI", "parse_uri"]

logger = logging.getLogger("tiled.client")

API_KEY_ENV = "TILED_API_KEY"
MSGPACK = "application/x-msgpack"
JSON = "application/json"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_RETRIES = 3
# Methods that may be sent again after the connection broke mid-request.
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_MAX_RETRY_AFTER = 30.0

Params = Sequence[tuple[str, str]] | Mapping[str, str] | None


def _query(params: Params) -> httpx.QueryParams | None:
    if params is None:
        return None
    pairs = params.items() if isinstance(params, Mapping) else params
    return httpx.QueryParams([(str(k), str(v)) for k, v in pairs])


@dataclass(frozen=True)
class ParsedURI:
    """A user's URI split into the API root, the node path to start at, and a key."""

    api_uri: str
    path_parts: tuple[str, ...]
    api_key: str | None


def parse_uri(uri: str) -> ParsedURI:
    """Accept ``http://h:p``, ``.../api``, ``.../api/v1`` and ``.../api/v1/metadata/a/b``.

    An ``api_key`` query parameter is taken out of the URI (it travels in a header).
    """
    url = httpx.URL(uri)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"{uri!r} is not an http(s) URL of a tiled server; give e.g. http://localhost:8000"
        )
    api_key = url.params.get("api_key") or None
    segments = [s for s in url.path.split("/") if s]
    prefix, rest = segments, []
    for i, segment in enumerate(segments):
        if segment == "api" and (i + 1 == len(segments) or segments[i + 1] == "v1"):
            prefix, rest = segments[:i], segments[i + 2 :]
            break
    path_parts: tuple[str, ...] = ()
    if rest:
        if rest[0] != "metadata":
            raise ValueError(
                f"{uri!r} is not a URI this client understands; give http://host:port, "
                ".../api/v1 or .../api/v1/metadata/path/to/node"
            )
        path_parts = tuple(unquote(s) for s in rest[1:])
    root = url.copy_with(path="/" + "/".join([*prefix, "api", "v1"]), query=None, fragment=None)
    return ParsedURI(str(root), path_parts, api_key)


class _ApiKeyAuth(httpx.Auth):
    """Adds ``Authorization: Apikey KEY`` to requests for the API's own origin only, so a
    link pointing elsewhere can never carry the key away."""

    def __init__(self, key: str | None, origin: tuple[str, str, int | None]) -> None:
        self._key = key
        self._origin = origin

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        if self._key and (url.scheme, url.host, url.port) == self._origin:
            request.headers["Authorization"] = f"Apikey {self._key}"
        yield request

    def __repr__(self) -> str:
        return "<_ApiKeyAuth key=***>" if self._key else "<_ApiKeyAuth no key>"


def _decode_document(response: httpx.Response) -> Any:
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type == MSGPACK:
        return msgpack.unpackb(response.content, timestamp=3)
    try:
        return response.json()
    except ValueError as err:
        raise ClientConnectionError(
            f"The server answered {response.request.url} with a body that is neither msgpack "
            f"nor JSON ({media_type or 'no content type'}); is this a tiled server?",
            response.request,
            response,
        ) from err


class Context:
    """An HTTP session with one tiled server.

    Parameters
    ----------
    api_uri
        The API root, e.g. ``http://localhost:8000/api/v1``.
    api_key
        Sent as ``Authorization: Apikey KEY``; never logged or shown in reprs.
    retries
        How many times a request is sent again after a transport error or a 503.
        4xx responses are never retried.
    max_bytes_per_request
        Array reads larger than this are split into several requests.
    """

    def __init__(
        self,
        api_uri: str,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
        retries: int = DEFAULT_RETRIES,
        verify: bool = True,
        transport: httpx.BaseTransport | None = None,
        max_bytes_per_request: int = 100 * 1024**2,
    ) -> None:
        self.api_uri = api_uri.rstrip("/")
        url = httpx.URL(self.api_uri)
        self._auth = _ApiKeyAuth(api_key, (url.scheme, url.host, url.port))
        self._has_key = bool(api_key)
        self.retries = retries
        self.max_bytes_per_request = max_bytes_per_request
        self.http = httpx.Client(
            headers={"User-Agent": "python-tiled-client", **(headers or {})},
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            verify=verify,
            transport=transport,
            follow_redirects=True,
        )
        self._about: dict[str, Any] | None = None
        # Clients are often dropped without close(); release the sockets with them.
        self._finalizer = weakref.finalize(self, self.http.close)

    def __repr__(self) -> str:
        return f"<Context {self.api_uri}{' (with API key)' if self._has_key else ''}>"

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._finalizer()

    @property
    def has_api_key(self) -> bool:
        return self._has_key

    @property
    def about(self) -> dict[str, Any]:
        """The server's root document (fetched anonymously, once)."""
        if self._about is None:
            try:
                about = self.request("GET", f"{self.api_uri}/", authenticate=False)
            except ClientNotFoundError as err:
                raise ClientConnectionError(
                    f"There is no tiled API at {self.api_uri}/ (404); check the URL",
                    err.request,
                    err.response,
                ) from err
            document = _decode_document(about)
            if not isinstance(document, dict) or "authentication" not in document:
                raise ClientConnectionError(
                    f"{self.api_uri}/ did not return a tiled root document; check the URL",
                    about.request,
                    about,
                )
            self._about = document
        return self._about

    def check_credentials(self) -> None:
        """Refuse early, with advice, when the server needs a key and we have none."""
        authentication = self.about.get("authentication") or {}
        if authentication.get("required") and not self._has_key:
            raise NoAPIKeyError(
                f"The server at {self.api_uri} requires an API key. Pass "
                f"from_uri(..., api_key=...), put ?api_key=... in the URI, or set "
                f"{API_KEY_ENV} in the environment."
            )

    # -- requests ------------------------------------------------------------------------

    def url(self, route: str, path_parts: Sequence[str] = ()) -> str:
        """``{api}/{route}/{path}`` with each key percent-encoded."""
        from urllib.parse import quote

        path = "/".join(quote(p, safe="") for p in path_parts)
        return f"{self.api_uri}/{route}/{path}"

    def document(
        self,
        method: str,
        url: str,
        *,
        params: Params = None,
        json: Any = None,
    ) -> Any:
        """Send a request whose answer is a JSON-like document (msgpack or JSON)."""
        response = self.request(
            method, url, params=params, json=json, headers={"Accept": f"{MSGPACK}, {JSON}"}
        )
        return _decode_document(response)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Params = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
    ) -> httpx.Response:
        """Send with retries; any status ≥ 400 becomes a :class:`ClientError`."""
        request = self.http.build_request(
            method, url, params=_query(params), json=json, headers=headers
        )
        auth = self._auth if authenticate else httpx.Auth()
        for attempt in self._attempts(method):
            with attempt:
                response = self.http.send(request, auth=auth)
                attempt.check(response)
        return response

    @contextmanager
    def stream(
        self, url: str, *, params: Params = None, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """A streamed GET whose status is already checked (the body is not yet read)."""
        request = self.http.build_request("GET", url, params=_query(params), headers=headers)
        for attempt in self._attempts("GET"):
            with attempt:
                response = self.http.send(request, auth=self._auth, stream=True)
                try:
                    attempt.check(response)
                except BaseException:
                    response.close()
                    raise
        try:
            yield response
        finally:
            response.close()

    def read_into(
        self, url: str, buffer: memoryview, *, params: Params = None, accept: str
    ) -> None:
        """Stream a body straight into ``buffer``, which it must fill exactly.

        No intermediate copy of the body is kept; a broken connection restarts the
        piece from its beginning.
        """
        request = self.http.build_request(
            "GET", url, params=_query(params), headers={"Accept": accept}
        )
        for attempt in self._attempts("GET"):
            with attempt:
                response = self.http.send(request, auth=self._auth, stream=True)
                try:
                    attempt.check(response)
                    filled = _fill_from(buffer, response, self.http.timeout.read)
                finally:
                    response.close()
                if filled != len(buffer):
                    raise ClientConnectionError(
                        f"{request.url} sent {'more than ' if filled < 0 else ''}"
                        f"{abs(filled)} bytes; {len(buffer)} were expected for the requested "
                        "shape",
                        request,
                        response,
                    )

    def _attempts(self, method: str) -> Iterator[_Attempt]:
        """Yield attempts until one succeeds; the caller's ``with attempt`` reports it."""
        attempt = _Attempt(self.retries, method in _IDEMPOTENT)
        while not attempt.done:
            yield attempt
            attempt.wait()


class _Retry(Exception):
    def __init__(self, delay: float) -> None:
        self.delay = delay


class _Attempt:
    """One try of a request: decides whether a failure is retried and how long to wait."""

    def __init__(self, retries: int, idempotent: bool) -> None:
        self.remaining = retries
        self.idempotent = idempotent
        self.done = False
        self.number = 0
        self._delay = 0.0

    def __enter__(self) -> _Attempt:
        self.number += 1
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> bool:
        if kind is None:
            self.done = True
            return False
        if isinstance(error, _Retry):  # only raised while retries remain
            self._delay = error.delay
            return True
        if isinstance(error, httpx.TransportError):
            # A connect error means nothing was sent, so even a POST may be repeated.
            safe = self.idempotent or isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
            if safe and self.remaining > 0:
                logger.info("Retrying %s after %r", error.request.url, error)
                self._delay = 0.2 * 2 ** (self.number - 1)
                return True
            raise ClientConnectionError(
                f"The request to {error.request.url} failed ({type(error).__name__}: "
                f"{error}) after {self.number} attempt(s); is the server running and "
                "reachable?",
                error.request,
            ) from error
        return False

    def check(self, response: httpx.Response) -> None:
        """Raise the response's error, or ask for a retry of a 503 (honouring Retry-After)."""
        if response.status_code < 400:
            return
        response.read()
        if response.status_code == 503 and self.remaining > 0:
            raise _Retry(_retry_after(response, 0.2 * 2 ** (self.number - 1)))
        raise error_for_response(response)

    def wait(self) -> None:
        if self.done:
            return
        self.remaining -= 1
        time.sleep(self._delay)


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return default


def _fill_from(buffer: memoryview, response: httpx.Response, timeout: float | None) -> int:
    """Copy the response body into ``buffer``; the count filled, or minus the count if
    it overflowed.

    A large uncompressed body of exactly the expected length over plain-text HTTP/1.1
    is received straight into ``buffer`` from the socket: one copy, where httpcore and
    h11 make about five (and spend most of a large read's CPU doing so). The connection
    is then closed rather than reused, since h11 did not see the body. Anything else (compressed,
    chunked, small, HTTPS, HTTP/2, a transport without a socket) goes chunk by chunk.
    """
    sock = _plain_body_socket(response, len(buffer))
    if sock is None:
        return _fill(buffer, response.iter_bytes())
    chunks = response.iter_raw()
    # What h11 buffered with the headers comes first, and h11 then holds nothing more.
    first = next(chunks, b"")
    if len(first) > len(buffer):
        return -len(first)
    buffer[: len(first)] = first
    filled = len(first)
    sock.settimeout(timeout)
    while filled < len(buffer):
        try:
            received = sock.recv_into(buffer[filled:], min(len(buffer) - filled, _RECV_BYTES))
        except TimeoutError as err:
            raise httpx.ReadTimeout(
                f"Reading the body timed out: {err}", request=response.request
            ) from err
        except OSError as err:
            raise httpx.ReadError(
                f"Reading the body failed: {err}", request=response.request
            ) from err
        if not received:
            raise httpx.RemoteProtocolError(
                f"The server closed the connection after {filled} of {len(buffer)} bytes",
                request=response.request,
            )
        filled += received
    return filled


_DIRECT_MIN_BYTES = 1024**2
_RECV_BYTES = 8 * 1024**2


def _plain_body_socket(response: httpx.Response, expected: int) -> socket.socket | None:
    """The connection's socket when the body is ``expected`` plain bytes worth receiving
    directly (see :func:`_fill_from`), else None."""
    headers = response.headers
    if (
        expected < _DIRECT_MIN_BYTES
        or response.http_version != "HTTP/1.1"
        or headers.get("content-encoding", "identity").strip().lower() != "identity"
        or "transfer-encoding" in headers
        or headers.get("content-length") != str(expected)
    ):
        return None
    stream = response.extensions.get("network_stream")
    get_extra_info = getattr(stream, "get_extra_info", None)
    if get_extra_info is None or get_extra_info("ssl_object") is not None:
        return None  # TLS (possibly inside a proxy's TLS): the socket carries ciphertext
    sock = get_extra_info("socket")
    return sock if type(sock) is socket.socket else None


def _fill(buffer: memoryview, chunks: Iterator[bytes]) -> int:
    """Copy chunks into ``buffer``; the count filled, or minus the count if it overflowed."""
    filled = 0
    for chunk in chunks:
        end = filled + len(chunk)
        if end > len(buffer):
            return -end
        buffer[filled:end] = chunk
        filled = end
    return filled


def api_key_from_environment() -> str | None:
    return os.environ.get(API_KEY_ENV) or None
