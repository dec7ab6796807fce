"""HDF5 at the file level: opening safely, checking where links lead, and telling whether
a file is still being written.

External links and virtual datasets make one HDF5 file read others. Those files must lie
inside the readable directories like any asset, and a virtual dataset whose source file
is missing must fail rather than silently return its fill value.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py

from ..errors import DataGoneError
from .failures import read_error
from .protocols import ResolvedSource

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_FILE_OPEN_FOR_WRITE = 0x01
_SWMR_WRITE = 0x04


def open_file(path: Path) -> h5py.File:
    """Open read-only; a writer's lock is "busy", anything else names the file, not the path."""
    try:
        return h5py.File(path, "r", locking="best-effort")
    except (OSError, ValueError) as err:
        raise read_error("the HDF5 file", err, [path]) from err


def check_links_target(obj: Any, source: ResolvedSource, root: Path) -> None:
    """Refuse an object that links led outside the readable directories, and a virtual
    dataset whose sources are missing or outside them."""
    filename = Path(obj.file.filename)
    if os.path.realpath(filename) != os.path.realpath(root):
        source.check_readable(filename, f"The external link {obj.name!r}")
    if isinstance(obj, h5py.Dataset) and obj.is_virtual:
        for mapping in obj.virtual_sources():
            if mapping.file_name == ".":
                continue
            target = Path(mapping.file_name)
            if not target.is_absolute():
                target = filename.parent / target
            if not target.exists():
                raise DataGoneError(
                    f"A source file of the virtual dataset {obj.name!r} is missing; its "
                    "values would be fill values"
                )
            source.check_readable(target, f"A source of the virtual dataset {obj.name!r}")


def open_virtual(dataset: h5py.Dataset) -> h5py.Dataset:
    """Reopen a virtual dataset so that relative source names resolve next to its file
    (the place :func:`check_links_target` checked), not the server's working directory."""
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_virtual_prefix(os.fsencode(Path(dataset.file.filename).parent))
    return h5py.Dataset(h5py.h5d.open(dataset.file.id, dataset.name.encode(), dapl=access))


def incomplete_reason(paths: Sequence[Path]) -> str | None:
    """Whether the superblock's end-of-file address lies past the real end of the file, or
    the file is marked open for writing (HDF5 1.10+ superblocks)."""
    for path in paths:
        try:
            reason = _check_superblock(path)
        except OSError as err:
            return f"{path.name}: {err.strerror}"
        if reason:
            return f"{path.name}: {reason}"
    return None


def _check_superblock(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as file:
        offset = 0
        while offset + 8 <= size:  # the superblock may sit at 0, 512, 1024, 2048, ...
            file.seek(offset)
            if file.read(8) == _SIGNATURE:
                break
            offset = 512 if offset == 0 else offset * 2
        else:
            return "no HDF5 superblock (yet)"
        header = file.read(40)
    version = header[0]
    if version in (0, 1):
        width = header[5]
        base_at = 16 if version == 0 else 20
        eof_at, flags = base_at + 2 * width, 0
    else:
        width, flags = header[1], header[3]
        base_at = 4
        eof_at = base_at + 2 * width
    if width not in (2, 4, 8) or len(header) < eof_at + width:
        return "unreadable superblock"
    fmt = {2: "<H", 4: "<I", 8: "<Q"}[width]
    base = struct.unpack_from(fmt, header, base_at)[0]
    end = struct.unpack_from(fmt, header, eof_at)[0]
    if version >= 3 and flags & (_FILE_OPEN_FOR_WRITE | _SWMR_WRITE):
        return "marked as open for writing"
    if base + end > size:
        return f"declares {base + end} bytes but has {size}"
    return None
