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

from ..errors import DataBusyError, DataGoneError
from .failures import read_error
from .protocols import ResolvedSource

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ORIGIN = b"${ORIGIN}"  # HDF5's spelling of "the directory of the file holding the object"
_FILE_OPEN_FOR_WRITE = 0x01
_SWMR_WRITE = 0x04


def open_file(path: Path) -> h5py.File:
    """Open read-only; a writer's lock is "busy", anything else names the file, not the path."""
    try:
        return h5py.File(path, "r", locking="best-effort")
    except (OSError, ValueError) as err:
        raise read_error("the HDF5 file", err, [path]) from err


def open_object(file: h5py.File, name: str) -> Any:
    """The object at ``name`` (following links). Datasets are opened so that files they
    name (virtual dataset sources, external raw storage) resolve next to the file holding
    the dataset, which is where :func:`check_links_target` looks, never in the server's
    working directory."""
    try:
        kind = file.get(name, getclass=True)
    except RuntimeError as err:  # h5py's answer for a dangling soft link
        raise KeyError(name) from err
    if kind is None:
        raise KeyError(name)
    if kind is not h5py.Dataset:
        return file[name]
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_efile_prefix(_ORIGIN)
    access.set_virtual_prefix(_ORIGIN)
    try:
        return h5py.Dataset(h5py.h5d.open(file.id, name.encode(), dapl=access))
    except KeyError as err:
        if "prefix" not in str(err):
            raise
    # Another reader in this process (h5netcdf, a concurrent request) holds the dataset
    # open with default settings. That is harmless unless it names other files.
    dataset = file[name]
    if dataset.external or dataset.is_virtual:
        raise DataBusyError("the HDF5 dataset is open elsewhere in this server", retry_after=1)
    return dataset


def check_links_target(obj: Any, source: ResolvedSource, root: Path) -> None:
    """Refuse an object that links led outside the readable directories, a dataset whose
    raw data or virtual sources lie outside them, and a virtual dataset with a missing
    source (HDF5 would quietly return fill values)."""
    filename = Path(obj.file.filename)
    if filename != root and os.path.realpath(filename) != os.path.realpath(root):
        source.check_readable(filename, f"The external link {obj.name!r}")
    if not isinstance(obj, h5py.Dataset):
        return
    for name, _, _ in obj.external or ():
        target = filename.parent / os.fsdecode(name)
        source.check_readable(target, f"The external storage of dataset {obj.name!r}")
    if not obj.is_virtual:
        return
    for mapping in obj.virtual_sources():
        if mapping.file_name == ".":
            continue
        target = filename.parent / mapping.file_name
        if not target.exists():
            raise DataGoneError(
                f"A source file of the virtual dataset {obj.name!r} is missing; its "
                "values would be fill values"
            )
        source.check_readable(target, f"A source of the virtual dataset {obj.name!r}")


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
