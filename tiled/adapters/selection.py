"""Selections made exact: every item an in-range ``int`` or a ``range``.

``slice(3, None, -1).indices(n)`` gives ``(3, -1, -1)``, and ``-1`` handed back to numpy
as a stop means "the end": normalising to ``range`` objects avoids that trap, makes block
offsets composable, and lets formats without negative steps (h5py, zarr) read forwards
and flip afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InvalidSliceError
from .protocols import Selection

Normalised = tuple[int | range, ...]


def normalise(selection: Selection, shape: Sequence[int]) -> Normalised:
    """One item per dimension; ints made non-negative (IndexError-free), slices as ranges."""
    if len(selection) > len(shape):
        raise InvalidSliceError(
            f"The selection has {len(selection)} items but the array has {len(shape)} dimensions"
        )
    items: list[int | range] = []
    for axis, length in enumerate(shape):
        item = selection[axis] if axis < len(selection) else slice(None)
        if isinstance(item, slice):
            if item.step == 0:
                raise InvalidSliceError("A slice step cannot be zero")
            items.append(range(*item.indices(length)))
            continue
        index = int(item)
        if not -length <= index < length:
            raise InvalidSliceError(
                f"Index {index} is out of range for dimension {axis} of length {length}"
            )
        items.append(index % length)
    return tuple(items)


def result_shape(selection: Normalised) -> tuple[int, ...]:
    return tuple(len(item) for item in selection if isinstance(item, range))


def as_slices(selection: Normalised) -> tuple[int | slice, ...]:
    """A numpy basic index equivalent to ``selection``."""
    out: list[int | slice] = []
    for item in selection:
        if isinstance(item, int):
            out.append(item)
        elif not item:  # an empty range may start at -1, which numpy reads as "last"
            out.append(slice(0, 0, 1))
        elif item.step < 0 and item.stop < 0:
            out.append(slice(item.start, None, item.step))
        else:
            out.append(slice(item.start, item.stop, item.step))
    return tuple(out)


def forward(selection: Normalised) -> tuple[tuple[int | slice, ...], tuple[int, ...]]:
    """The same elements read with positive steps, and the result axes to flip afterwards."""
    out: list[int | slice] = []
    flips: list[int] = []
    result_axis = 0
    for item in selection:
        if isinstance(item, int):
            out.append(item)
            continue
        if item.step < 0:
            if len(item):
                out.append(slice(item[-1], item[0] + 1, -item.step))
                flips.append(result_axis)
            else:
                out.append(slice(0, 0, 1))
        else:
            out.append(slice(item.start, max(item.stop, item.start), item.step))
        result_axis += 1
    return tuple(out), tuple(flips)


def within_block(
    offset: Sequence[int], block_shape: Sequence[int], selection: Selection
) -> Normalised:
    """``selection`` (relative to a block at ``offset``) as a selection of the whole array."""
    inner = normalise(selection, block_shape)
    composed: list[int | range] = []
    for start, item in zip(offset, inner, strict=True):
        if isinstance(item, int):
            composed.append(start + item)
        else:
            composed.append(range(start + item.start, start + item.stop, item.step))
    return tuple(composed)


def first_axis_indexes(selection: Normalised) -> tuple[list[int], bool]:
    """The indexes selected along axis 0 and whether that axis is dropped (an int)."""
    first = selection[0]
    if isinstance(first, int):
        return [first], True
    return list(first), False


def pieces(
    selection: Normalised,
    itemsize: int,
    max_bytes: int,
    chunks: Sequence[Sequence[int]] | None = None,
) -> list[Normalised]:
    """``selection`` cut into consecutive parts of about ``max_bytes`` each, along its first
    axis of more than one element, so that each part's result is a contiguous run of the
    whole result in C order (a response can be read and sent part by part).

    With the array's ``chunks`` (block sizes per axis), parts of a forward selection end
    on block edges where blocks allow it: a part is whole blocks, or one block of up to
    twice ``max_bytes``, so a compressed block is decoded once, not once per part that
    cuts it. Larger blocks are cut as without ``chunks``.
    """
    axis = next(
        (i for i, item in enumerate(selection) if isinstance(item, range) and len(item) > 1), None
    )
    if axis is None:
        return [selection]
    item = selection[axis]
    assert isinstance(item, range)
    inner = itemsize
    for later in selection[axis + 1 :]:
        inner *= len(later) if isinstance(later, range) else 1
    step = max(1, max_bytes // max(inner, 1))
    head, tail = selection[:axis], selection[axis + 1 :]
    if chunks is None or item.step != 1 or len(item) <= step:
        return [(*head, item[i : i + step], *tail) for i in range(0, len(item), step)]
    runs = _block_aligned(item.start, item.stop, chunks[axis], step)
    return [(*head, range(start, stop), *tail) for start, stop in runs]


def _block_aligned(
    start: int, stop: int, blocks: Sequence[int], step: int
) -> list[tuple[int, int]]:
    """``[start, stop)`` as runs of at most ``step`` (or one block of up to ``2 * step``),
    cut at block edges where possible."""
    edges = []
    edge = 0
    for size in blocks:
        edge += size
        if start < edge < stop:
            edges.append(edge)
    runs: list[tuple[int, int]] = []
    first = last = start  # the run being gathered: [first, last)
    for end in [*edges, stop]:
        if end - first <= step:
            last = end
            continue
        if last > first:
            runs.append((first, last))
            first = last
        if end - first <= step:
            last = end
        elif end - first <= 2 * step:
            runs.append((first, end))
            first = last = end
        else:
            runs.extend((i, min(i + step, end)) for i in range(first, end, step))
            first = last = end
    if last > first:
        runs.append((first, last))
    return runs


def contiguous_span(selection: Normalised, shape: Sequence[int]) -> tuple[int, int] | None:
    """``(start, stop)`` flat C-order element indexes when ``selection`` covers one unbroken
    run of the array (single indexes, then one forward range, then whole axes), else None.

    Such a selection can be read from a file that stores the array as is in one copy:
    a run of whole TIFF pages, say, is one byte range of the file.
    """
    axis = len(selection)
    while axis > 0 and _whole(selection[axis - 1], shape[axis - 1]):
        axis -= 1
    inner = 1
    for length in shape[axis:]:
        inner *= length
    if axis == 0:
        return 0, inner
    run = selection[axis - 1]
    if isinstance(run, int):
        first, count = run, 1
    elif len(run) <= 1 or run.step == 1:
        first, count = (run[0] if len(run) else 0), len(run)
    else:
        return None
    for item in selection[: axis - 1]:
        if isinstance(item, range) and len(item) != 1:
            return None
    # Flat offset of the run: Horner's rule over the leading single indexes.
    start = 0
    for item, length in zip(selection[: axis - 1], shape[: axis - 1], strict=True):
        start = start * length + (item if isinstance(item, int) else item[0])
    start = (start * shape[axis - 1] + first) * inner
    return start, start + count * inner


def _whole(item: int | range, length: int) -> bool:
    return isinstance(item, range) and item.step == 1 and item.start == 0 and item.stop == length
