"""Turning a format library's exception into a domain error a client may see.

Libraries put the full file path in their messages; the server must not reveal it, so
paths are cut down to the file name. A file that is missing, truncated or corrupt is a
:class:`DataGoneError` (deterministic; clients should not retry); an I/O error of the
operating system is a :class:`DataUnavailableError` (may pass); a lock held by a writer
is a :class:`DataBusyError`.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataBusyError, DataGoneError, DataUnavailableError, TiledError

# OS errors that may pass on their own; anything else about the bytes is deterministic.
_LOCKED = re.compile(r"\block")
_TRANSIENT_ERRNOS = {errno.EIO, errno.EAGAIN, errno.ETIMEDOUT, errno.ESTALE, errno.ENOMEM}


def scrub(text: str, paths: Iterable[Path]) -> str:
    """``text`` with every occurrence of a path replaced by its final component."""
    for path in sorted({str(p) for p in paths}, key=len, reverse=True):
        for spelling in {path, os.path.realpath(path)}:
            text = text.replace(spelling, Path(spelling).name)
    return text


def read_error(what: str, err: BaseException, paths: Iterable[Path] = ()) -> TiledError:
    """The domain error for ``err`` raised while reading ``what`` (e.g. "the TIFF file")."""
    if isinstance(err, TiledError):
        return err
    paths = list(paths)
    if isinstance(err, FileNotFoundError):
        return DataGoneError(f"{what} is missing; it was moved or deleted after registration")
    if isinstance(err, BlockingIOError) or _LOCKED.search(str(err).lower()):
        return DataBusyError(f"{what} is locked by a writer", retry_after=2)
    if isinstance(err, PermissionError):
        return DataUnavailableError(f"{what} cannot be read: permission denied")
    if isinstance(err, OSError) and err.errno in _TRANSIENT_ERRNOS:
        return DataUnavailableError(f"{what} cannot be read: {err.strerror}")
    detail = scrub(str(err), paths) or type(err).__name__
    return DataGoneError(
        f"{what} cannot be read ({detail}); it may be truncated, corrupt or changed since "
        "registration"
    )
