"""Reading an array stored as is (uncompressed, C order, one run of bytes) straight from
its file: one positioned read per request part into the result, no decoding layer.

Formats find the run (TIFF: pages back to back); this module only reads it, and a file
shorter than the run is an error, never a short or padded array.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from ..errors import DataGoneError

_MAX_READ = 1 << 30
"""Bytes per system call (Linux reads at most about 2 GiB at once)."""


@dataclass(frozen=True)
class StoredLayout:
    """Where an array lies in its file: the byte offset of element 0, shape and dtype (in
    the file's byte order)."""

    offset: int
    shape: tuple[int, ...]
    dtype: numpy.dtype[Any]


def file_stamp(path: Path) -> tuple[int, ...]:
    """What changes when a file is replaced or rewritten: inode, size, modification time."""
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def read_run(
    path: Path, layout: StoredLayout, span: tuple[int, int], shape: tuple[int, ...]
) -> numpy.ndarray:
    """Elements ``span[0]:span[1]`` (flat, C order) of the stored array, shaped ``shape``."""
    out = numpy.empty(shape, layout.dtype)
    view = memoryview(out.reshape(-1).view(numpy.uint8))
    if not len(view):
        return out
    position = layout.offset + span[0] * layout.dtype.itemsize
    fd = os.open(path, os.O_RDONLY)
    try:
        done = 0
        while done < len(view):
            count = os.preadv(fd, [view[done : done + _MAX_READ]], position + done)
            if count == 0:
                raise DataGoneError(
                    f"the file ends at byte {position + done}, before the end of its image "
                    f"data (byte {position + len(view)}); it was truncated after registration"
                )
            done += count
    finally:
        os.close(fd)
    return out
