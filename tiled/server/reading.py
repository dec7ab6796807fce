"""Reading data through adapters for the data routes: family checks, size limits,
compressed or streamed bodies, and errors that name the node, never the server's paths.

A file that fails to read fails only the request that read it: every failure becomes a
domain error with the node's name (410 when the file is gone, truncated or corrupt; 503
with Retry-After when a writer holds it) and the server carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response, StreamingResponse

from ..errors import (
    DataUnavailableError,
    NotFoundError,
    ResponseTooLargeError,
    TiledError,
)
from ..serialization.array import array_bytes
from ..serialization.compression import (
    compress,
    compress_chunks,
    compressor,
    negotiate,
    worth_compressing,
)
from ..structures.core import StructureFamily
from .node_access import ResolvedNode, adapter_of, in_thread, naming, resolve, split_path

logger = logging.getLogger("tiled.server")
T = TypeVar("T")

STREAM_ABOVE_BYTES = 8 * 1024**2
"""Compressed bodies above this size are produced and sent piece by piece."""


async def data_adapter(request: Request, path: str, family: StructureFamily) -> tuple[str, Any]:
    """The adapter of the node at ``path``, which must be of ``family`` (else 404)."""
    node: ResolvedNode = await resolve(request, split_path(path))
    name = "/".join(node.path)
    actual = node.record.structure_family if node.is_catalog_node else None
    if actual is not None and actual != family:
        raise _wrong_family(name, actual, family)
    adapter = await guarded(name, adapter_of, request, node)
    adapter_family = StructureFamily(adapter.structure_family)
    if adapter_family != family:
        raise _wrong_family(name, adapter_family, family)
    return name, adapter


def _wrong_family(name: str, actual: StructureFamily, wanted: StructureFamily) -> NotFoundError:
    return NotFoundError(
        f"The node {name!r} has structure family {actual.value!r}; this route serves "
        f"{wanted.value!r} nodes"
    )


async def guarded(name: str, func: Callable[..., Any], *args: Any) -> Any:
    """Await ``func(*args)``, turning any failure of the file into an error naming the node."""
    try:
        return await func(*args)
    except DataUnavailableError as err:
        named = naming(err, name)
        if named is err:
            raise
        raise named from err
    except TiledError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, IndexError, TypeError) as err:
        logger.warning("Reading node %r failed: %r", name, err)
        raise DataUnavailableError(
            f"The data of node {name!r} cannot be read ({type(err).__name__}); "
            "the file may be corrupt or truncated"
        ) from err


async def read_in_thread(request: Request, name: str, func: Callable[..., T], *args: Any) -> T:
    """Run a blocking adapter call in the bounded worker pool, errors naming the node."""
    return await guarded(name, in_thread, request, func, *args)  # type: ignore[no-any-return]


def response_limit(request: Request) -> int:
    return int(request.app.state.settings.max_response_bytes)


def check_size(request: Request, name: str, nbytes: int | None, what: str) -> None:
    """Refuse, before reading, a response over the server's limit (400 saying the limit)."""
    limit = response_limit(request)
    if nbytes is not None and nbytes > limit:
        raise ResponseTooLargeError(
            f"Reading {what} from node {name!r} would send about {nbytes:,} bytes, over this "
            f"server's limit of {limit:,} bytes; request a slice, fewer columns, or one "
            "block or partition at a time"
        )


async def data_response(
    request: Request, body: bytes | memoryview, media_type: str, filename: str | None = None
) -> Response:
    """The body as a response: compressed when asked for and worth it, streamed when big."""
    headers = download_headers(filename)
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type = f"{media_type}; charset=utf-8"
    encoding = negotiate(request.headers.get("accept-encoding"))
    if encoding is None or not worth_compressing(body, media_type):
        return Response(body, media_type=media_type, headers=headers)
    headers["Content-Encoding"] = encoding
    if len(body) > STREAM_ABOVE_BYTES:
        return StreamingResponse(
            compress_chunks(body, encoding), media_type=media_type, headers=headers
        )
    packed = await in_thread(request, compress, body, encoding)
    return Response(packed, media_type=media_type, headers=headers)


def download_headers(filename: str | None) -> dict[str, str]:
    """Headers of a data response; an attachment when the client named a file."""
    headers = {"Vary": "Accept-Encoding"}
    if filename:
        headers["Content-Disposition"] = content_disposition(filename)
    return headers


def content_disposition(filename: str) -> str:
    """An attachment header for any file name: an ASCII fallback plus the UTF-8 name
    (RFC 6266 / RFC 5987), since header values must be Latin-1."""
    cleaned = "".join(c for c in filename if c.isprintable() and c not in '"\\')
    fallback = cleaned.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'attachment; filename="{fallback}"'
    if fallback != cleaned:
        header += f"; filename*=UTF-8''{quote(cleaned, safe='')}"
    return header


async def streamed_array_response(
    request: Request,
    name: str,
    read: Callable[..., Any],
    parts: Sequence[Any],
    nbytes: int,
    media_type: str,
    filename: str | None = None,
) -> Response:
    """Raw array bytes read and sent part by part (``read(part)`` for each of ``parts``),
    so a large response needs two parts in memory, not the whole array: the one being
    sent and the next, read in a worker thread meanwhile (file I/O and the socket overlap).

    The first part is read before the response starts: most failures of a file show
    there and still get a proper status. A later failure can only cut the body short
    (the client sees fewer bytes than the Content-Length); it is logged with the node.
    """
    first = array_bytes(await read_in_thread(request, name, read, parts[0]))
    headers = download_headers(filename)
    encoding = negotiate(request.headers.get("accept-encoding"))
    packer = None
    if encoding is not None and worth_compressing(first, media_type):
        headers["Content-Encoding"] = encoding
        packer = compressor(encoding)
    else:
        headers["Content-Length"] = str(nbytes)

    later = iter(parts[1:])

    def read_next() -> asyncio.Task[Any] | None:
        """Start reading the next part in a worker thread; None after the last."""
        part = next(later, None)
        if part is None:
            return None
        return asyncio.ensure_future(read_in_thread(request, name, read, part))

    async def body() -> AsyncIterator[bytes | memoryview]:
        chunk: memoryview = first
        pending = read_next()
        try:
            while True:
                out = chunk if packer is None else await in_thread(request, packer.compress, chunk)
                if len(out):
                    yield out
                if pending is None:
                    break
                try:
                    chunk = array_bytes(await pending)
                except TiledError as err:
                    logger.warning("Response for node %r cut short: %s", name, err.message)
                    raise
                pending = read_next()
            if packer is not None:
                yield packer.flush()
        finally:
            if pending is not None and not pending.done():  # the client went away
                pending.cancel()
                pending.add_done_callback(_quietly)

    return StreamingResponse(body(), media_type=media_type, headers=headers)


def _quietly(task: asyncio.Task[Any]) -> None:
    """Retrieve the outcome of a read nobody waits for any more (no "never retrieved")."""
    if not task.cancelled():
        task.exception()
