"""Reading data through adapters for the data routes: family checks, size limits and
errors that name the node, never the server's file paths."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response

from ..errors import (
    DataBusyError,
    DataUnavailableError,
    NotFoundError,
    ResponseTooLargeError,
    TiledError,
)
from ..structures.core import StructureFamily
from .node_access import ResolvedNode, adapter_of, in_thread, resolve, split_path

logger = logging.getLogger("tiled.server")
T = TypeVar("T")


async def data_adapter(request: Request, path: str, family: StructureFamily) -> tuple[str, Any]:
    """The adapter of the node at ``path``, which must be of ``family`` (else 404)."""
    node: ResolvedNode = await resolve(request, split_path(path))
    name = "/".join(node.path)
    actual = node.record.structure_family if node.is_catalog_node else None
    if actual is not None and actual != family:
        raise NotFoundError(
            f"The node {name!r} has structure family {actual.value!r}; this route serves "
            f"{family.value!r} nodes"
        )
    adapter = await guarded(name, adapter_of, request, node)
    adapter_family = StructureFamily(adapter.structure_family)
    if adapter_family != family:
        raise NotFoundError(
            f"The node {name!r} has structure family {adapter_family.value!r}; this route "
            f"serves {family.value!r} nodes"
        )
    return name, adapter


async def guarded(name: str, func: Callable[..., Any], *args: Any) -> Any:
    """Await ``func(*args)``, turning any failure of the file into an error naming the node."""
    try:
        return await func(*args)
    except DataBusyError as err:
        raise DataBusyError(
            f"The data of node {name!r} is being written; try again shortly", err.retry_after
        ) from err
    except DataUnavailableError as err:
        raise DataUnavailableError(f"The data of node {name!r} cannot be read: {err}") from err
    except TiledError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, IndexError, TypeError) as err:
        logger.warning("Reading node %r failed: %r", name, err)
        raise DataUnavailableError(
            f"The data of node {name!r} cannot be read ({type(err).__name__}); "
            "the file may be corrupt or truncated"
        ) from err


async def read_in_thread(request: Request, name: str, func: Callable[..., T], *args: Any) -> T:
    return await guarded(name, in_thread, request, func, *args)


def check_size(request: Request, name: str, shape: tuple[int, ...], itemsize: int) -> None:
    limit = request.app.state.settings.max_response_bytes
    nbytes = math.prod(shape) * itemsize
    if nbytes > limit:
        raise ResponseTooLargeError(
            f"Reading {list(shape)} from node {name!r} would send {nbytes:,} bytes, over this "
            f"server's limit of {limit:,} bytes; request a slice or read block by block"
        )


def data_response(body: Any, media_type: str, filename: str | None) -> Response:
    headers = {}
    if filename:
        headers["Content-Disposition"] = content_disposition(filename)
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type = f"{media_type}; charset=utf-8"
    return Response(
        bytes(body) if isinstance(body, memoryview) else body,
        media_type=media_type,
        headers=headers,
    )


def content_disposition(filename: str) -> str:
    """An attachment header for any file name: an ASCII fallback plus the UTF-8 name
    (RFC 6266 / RFC 5987), since header values must be Latin-1."""
    cleaned = "".join(c for c in filename if c.isprintable() and c not in '"\\')
    fallback = cleaned.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'attachment; filename="{fallback}"'
    if fallback != cleaned:
        header += f"; filename*=UTF-8''{quote(cleaned, safe='')}"
    return header
