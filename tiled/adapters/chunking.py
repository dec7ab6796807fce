"""Block layouts: native chunks where a format has them, capped so a block stays small."""

from __future__ import annotations

import math
from typing import Any

import numpy

MAX_BLOCK_BYTES = 64 * 1024**2


def regular_chunks(length: int, size: int) -> tuple[int, ...]:
    if length == 0:
        return (0,)
    size = max(1, size)
    full, remainder = divmod(length, size)
    return (size,) * full + ((remainder,) if remainder else ())


def auto_chunks(shape: tuple[int, ...], dtype: numpy.dtype[Any]) -> tuple[tuple[int, ...], ...]:
    """One block for arrays up to the cap; otherwise split along the first axis."""
    nbytes = math.prod(shape) * numpy.dtype(dtype).itemsize
    if not shape or nbytes <= MAX_BLOCK_BYTES:
        return tuple((n,) for n in shape)
    row_bytes = nbytes // max(shape[0], 1)
    rows = max(1, MAX_BLOCK_BYTES // max(row_bytes, 1))
    return (regular_chunks(shape[0], rows), *((n,) for n in shape[1:]))
