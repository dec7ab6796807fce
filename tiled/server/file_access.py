"""Turning asset URIs into paths, safely.

Every path that reaches the file system passes through :func:`resolve_asset_path`:
percent-decoding, ``..`` normalisation and symlink resolution happen first, and the
result must lie inside one of the readable directories. This runs at registration
and again whenever a file is opened for reading.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import AccessDeniedError, BadRequestError

_LOCAL_HOSTS = ("", "localhost")


def path_from_data_uri(data_uri: str) -> Path:
    """The absolute local path named by a ``file://`` URI (not yet checked)."""
    if not isinstance(data_uri, str) or not data_uri:
        raise BadRequestError("An asset's data_uri must be a non-empty string")
    parts = urlsplit(data_uri)
    if parts.scheme != "file":
        raise BadRequestError(
            f"Only file:// data URIs can be registered, not {data_uri!r} "
            f"(scheme {parts.scheme or 'missing'!r})"
        )
    if parts.netloc.lower() not in _LOCAL_HOSTS:
        raise AccessDeniedError(
            f"{data_uri!r} names the host {parts.netloc!r}; only local files "
            "(file:///path or file://localhost/path) can be registered"
        )
    if parts.query or parts.fragment:
        raise BadRequestError(f"{data_uri!r} must not carry a query or fragment")
    decoded = unquote(parts.path)
    if "\x00" in decoded:
        raise BadRequestError(f"{data_uri!r} contains a NUL character")
    if not decoded.startswith("/"):
        raise BadRequestError(f"{data_uri!r} must name an absolute path")
    return Path(decoded)


def inside_any(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_asset_path(data_uri: str, readable: Sequence[Path]) -> Path:
    """Resolve ``data_uri`` (following symlinks) and insist that it stays inside ``readable``.

    Raises AccessDeniedError when it does not. Whether the file exists is the caller's
    question: a missing file is the client's mistake at registration, but a server-side
    problem at read time.
    """
    path = path_from_data_uri(data_uri)
    # resolve() normalises '..' and follows every symlink along the way.
    resolved = Path(os.path.realpath(path))
    if not readable or not inside_any(resolved, readable):
        raise AccessDeniedError(
            f"{data_uri!r} is outside the readable directories of this server. "
            "Start the server with -r/--read naming a directory that contains it."
        )
    return resolved
