"""Block layouts: native chunks where a format has them, capped so that one block stays
small enough to read, encode and send in one piece."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy


MAX_BLOCK_BYTES = 64 * 1024**2
"""The largest block we report. Native chunks above it are split along leading axes."""

Chunks = tuple[tuple[int, ...], ...]


def regular_chunks(length: int, size: int) -> tuple[int, ...]:
    """``length`` cut into pieces of ``size`` (the last one shorter); ``(0,)`` when empty."""
    if length == 0:
        return (0,)
    size = max(1, min(size, length))
    full, remainder = divmod(length, size)
    return (size,) * full + ((remainder,) if remainder else ())


def capped_chunk_shape(
    chunk_shape: Sequence[int], itemsize: int, cap: int = MAX_BLOCK_BYTES
) -> tuple[int, ...]:
    """Shrink ``chunk_shape`` from the first axis on until a chunk is at most ``cap`` bytes.

    Splitting leading axes keeps each block one contiguous run of C-order rows, which is
    what an uncompressed file (NPY, contiguous HDF5) can read with one seek.
    """
    shape = [max(1, int(n)) for n in chunk_shape]
    for axis in range(len(shape)):
        inner = math.prod(shape[axis + 1 :]) * max(itemsize, 1)
        if shape[axis] * inner <= cap:
            break
        shape[axis] = max(1, cap // inner)
    return tuple(shape)


def chunks_from_shape(
    shape: Sequence[int], chunk_shape: Sequence[int] | None, itemsize: int
) -> Chunks:
    """The block grid for an array with native chunks ``chunk_shape`` (None: contiguous)."""
    native = tuple(chunk_shape) if chunk_shape else tuple(shape)
    capped = capped_chunk_shape(native, itemsize)
    return tuple(regular_chunks(n, c) for n, c in zip(shape, capped, strict=True))


def auto_chunks(shape: tuple[int, ...], dtype: numpy.dtype[Any]) -> Chunks:
    """One block for arrays up to the cap; otherwise runs of whole rows along axis 0."""
    import numpy

    return chunks_from_shape(shape, None, numpy.dtype(dtype).itemsize)


def frame_chunks(count: int, frame_shape: Sequence[int], itemsize: int) -> Chunks:
    """One block per frame (file or page) along axis 0, capped within a frame."""
    inner = chunks_from_shape(frame_shape, None, itemsize)
    return ((1,) * count if count else (0,), *inner)
