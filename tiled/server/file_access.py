"""Turning asset URIs into paths, safely.

Every path that reaches the file system passes through :func:`resolve_asset_path`:
percent-decoding, ``..`` normalisation and symlink resolution happen first, and the
result must lie inside one of the readable directories. This runs at registration
and again whenever a file is opened for reading (:class:`CheckedPaths`).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import overload
from urllib.parse import unquote, urlsplit

from ..errors import AccessDeniedError, BadRequestError, DataGoneError

logger = logging.getLogger("tiled.server")

_LOCAL_HOSTS = ("", "localhost")


def path_from_data_uri(data_uri: str) -> Path:
    """The absolute local path named by a ``file://`` URI (not yet checked)."""
    if not isinstance(data_uri, str) or not data_uri:
        raise BadRequestError("An asset's data_uri must be a non-empty string")
    if data_uri.startswith("file:///") and not any(c in data_uri for c in "%?#\x00"):
        return Path(data_uri[7:])  # what the general case below gives, without parsing
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
    # realpath normalises '..' and follows every symlink along the way.
    resolved = Path(os.path.realpath(path_from_data_uri(data_uri)))
    return _inside(resolved, readable, data_uri)


def _inside(resolved: Path, readable: Sequence[Path], data_uri: str) -> Path:
    if not readable or not inside_any(resolved, readable):
        raise AccessDeniedError(
            f"{data_uri!r} is outside the readable directories of this server. "
            "Start the server with -r/--read naming a directory that contains it."
        )
    return resolved


def resolve_asset_paths(
    data_uris: Sequence[str],
    readable: Sequence[Path],
    directories: dict[Path, str] | None = None,
    stats: dict[str, os.stat_result] | None = None,
) -> list[Path | None]:
    """:func:`resolve_asset_path` for many files at once; ``None`` where a file is missing.

    A multi-file data source (a sequence of thousands of frames) is opened on every read,
    so its files are resolved cheaply: each distinct directory through ``realpath`` once,
    then one ``lstat`` per file. A file that is itself a symlink (or whose name is not a
    plain name) falls back to the full resolution. The result is the same as resolving
    each path alone, and the same check against ``readable`` applies to every file.
    ``directories`` may be shared by the calls of one short task (a registration batch)
    to resolve each directory once for all of them. ``stats``, when given, receives the
    ``lstat`` of each file that is not a symlink (its ``stat``, as it links nowhere), by
    data URI, so that a caller needing it does not stat the file again.
    """
    if directories is None:
        directories = {}
    result: list[Path | None] = []
    for data_uri in data_uris:
        path = path_from_data_uri(data_uri)
        if path.name not in ("", ".", ".."):
            real_parent = directories.get(path.parent)
            if real_parent is None:
                real_parent = directories[path.parent] = os.path.realpath(path.parent)
            candidate = Path(real_parent, path.name)
            try:
                info = os.lstat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                _inside(candidate, readable, data_uri)  # missing, and still checked
                result.append(None)
                continue
            if not stat.S_ISLNK(info.st_mode):
                result.append(_inside(candidate, readable, data_uri))
                if stats is not None:
                    stats[data_uri] = info
                continue
        resolved = resolve_asset_path(data_uri, readable)  # a symlink, or a name like ".."
        result.append(resolved if resolved.exists() else None)
    return result


class CheckedPaths(Sequence[Path]):
    """The files of a registered data source for reading, each resolved and checked
    against the readable directories when an adapter first asks for it.

    A block of a 10,000-frame sequence reads one file, so it resolves one file rather
    than all of them on every request; no path reaches an adapter unchecked. Errors
    name the node, never the server's paths: a file outside the readable directories
    is refused (403) and a missing one is gone (410).
    """

    def __init__(self, data_uris: Sequence[str], readable: Sequence[Path], node: str) -> None:
        self._uris = list(data_uris)
        self._readable = tuple(readable)
        self._node = node
        self._paths: list[Path | None] = [None] * len(self._uris)
        self._directories: dict[Path, str] = {}

    def __len__(self) -> int:
        return len(self._uris)

    @overload
    def __getitem__(self, index: int) -> Path: ...

    @overload
    def __getitem__(self, index: slice) -> list[Path]: ...

    def __getitem__(self, index: int | slice) -> Path | list[Path]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        path = self._paths[index]
        if path is None:
            path = self._paths[index] = self._check(self._uris[index])
        return path

    def _check(self, data_uri: str) -> Path:
        try:
            (path,) = resolve_asset_paths([data_uri], self._readable, self._directories)
        except AccessDeniedError as err:
            logger.warning("Refused to read a file of node %r: %s", self._node, err)
            raise AccessDeniedError(
                f"Node {self._node!r} refers to a file outside this server's readable directories"
            ) from err
        if path is None:
            raise DataGoneError(
                f"A file backing node {self._node!r} is missing; it was moved or deleted "
                "after registration. Re-register the node."
            )
        return path
