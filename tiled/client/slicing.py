"""numpy basic indexing turned into the ``slice=`` parameter, and big reads into pieces.

A selection is normalised against the array's shape into one item per dimension: an
``int`` (the dimension is dropped) or a :class:`Range` (start, stop, step with the stop
already clipped). Pieces of a large read are contiguous runs of the result in C order,
so each piece's bytes land directly in the output buffer.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Piece", "Range", "Selection", "encode", "normalize", "pieces"]


@dataclass(frozen=True)
class Range:
    """A normalised slice: ``length`` items from ``start`` in steps of ``step``."""

    start: int
    step: int
    length: int

    def encode(self) -> str:
        stop = self.start + self.length * self.step
        # A negative stop would count from the end; "omit it" means "run past index 0".
        stop_text = "" if stop < 0 else str(stop)
        return f"{self.start}:{stop_text}:{self.step}"

    def sub(self, begin: int, end: int) -> Range:
        return Range(self.start + begin * self.step, self.step, end - begin)

    def at(self, index: int) -> int:
        return self.start + index * self.step


Item = int | Range


@dataclass(frozen=True)
class Selection:
    """A normalised selection: per-dimension items, plus where ``None`` adds axes."""

    items: tuple[Item, ...]
    newaxes: tuple[int, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the result before new axes are inserted."""
        return tuple(i.length for i in self.items if isinstance(i, Range))

    @property
    def is_everything(self) -> bool:
        return all(isinstance(i, Range) and i.start == 0 and i.step == 1 for i in self.items)

    def final_shape(self) -> tuple[int, ...]:
        shape = list(self.shape)
        for position in self.newaxes:
            shape.insert(position, 1)
        return tuple(shape)


def normalize(key: Any, shape: Sequence[int]) -> Selection:
    """Check ``key`` (ints, slices, ``...``, ``None``) against ``shape`` like numpy does.

    Raises IndexError for out-of-range integers or too many indices, TypeError for
    advanced indexing (lists, arrays, booleans), ValueError for a zero step.
    """
    parts = list(key) if isinstance(key, tuple) else [key]
    ellipses = sum(1 for p in parts if p is Ellipsis)
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consuming = sum(1 for p in parts if p is not None and p is not Ellipsis)
    if consuming > len(shape):
        raise IndexError(
            f"too many indices for array: array is {len(shape)}-dimensional, but "
            f"{consuming} were indexed"
        )
    if ellipses:
        at = parts.index(Ellipsis)
        parts[at : at + 1] = [slice(None)] * (len(shape) - consuming)
    else:
        parts += [slice(None)] * (len(shape) - consuming)
    items: list[Item] = []
    newaxes: list[int] = []
    result_axis = 0
    for part in parts:
        if part is None:
            newaxes.append(result_axis)
            result_axis += 1
            continue
        item = _item(part, shape[len(items)], len(items))
        items.append(item)
        result_axis += isinstance(item, Range)
    return Selection(tuple(items), tuple(newaxes))


def _item(part: Any, length: int, axis: int) -> Item:
    if isinstance(part, slice):
        start, stop, step = part.indices(length)
        return Range(start, step, len(range(start, stop, step)))
    if isinstance(part, bool) or not hasattr(part, "__index__"):
        raise TypeError(
            f"only integers, slices, '...' and None are valid indices here, not "
            f"{type(part).__name__}; read() the array and index it in memory for fancy indexing"
        )
    index = operator.index(part)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {length}")
    return index + length if index < 0 else index


def encode(items: Sequence[Item]) -> str:
    """The wire form: ``0,1:3:1,0:4:1`` (always fully expanded)."""
    return ",".join(str(i) if isinstance(i, int) else i.encode() for i in items)


def expected_shape(shape: Sequence[int]) -> str:
    return ",".join(map(str, shape)) if shape else "scalar"


@dataclass(frozen=True)
class Piece:
    """One request of a split read: its items and where its bytes go in the result."""

    items: tuple[Item, ...]
    shape: tuple[int, ...]
    offset: int  # in elements, within the C-ordered result


def pieces(items: Sequence[Item], itemsize: int, max_bytes: int) -> Iterator[Piece]:
    """Split a read so no request asks for more than ``max_bytes`` (when avoidable).

    Splits along the first result axis; if a single step along it is still too big,
    each step is split along the next axis, and so on.
    """
    yield from _split(tuple(items), 0, max(itemsize, 1), max(max_bytes, 1))


def _split(items: tuple[Item, ...], offset: int, itemsize: int, max_bytes: int) -> Iterator[Piece]:
    shape = tuple(i.length for i in items if isinstance(i, Range))
    total = math.prod(shape) * itemsize
    axis = next((n for n, i in enumerate(items) if isinstance(i, Range)), None)
    if total <= max_bytes or axis is None:
        yield Piece(items, shape, offset)
        return
    rng = items[axis]
    assert isinstance(rng, Range)
    step_bytes = total // rng.length
    if step_bytes > max_bytes:
        # Even one step is too big: fix this axis and split the next one.
        per_step = step_bytes // itemsize
        for index in range(rng.length):
            fixed = (*items[:axis], rng.at(index), *items[axis + 1 :])
            yield from _split(fixed, offset + index * per_step, itemsize, max_bytes)
        return
    per_piece = max(max_bytes // step_bytes, 1)
    for begin in range(0, rng.length, per_piece):
        end = min(begin + per_piece, rng.length)
        part = (*items[:axis], rng.sub(begin, end), *items[axis + 1 :])
        sub_shape = (end - begin, *shape[1:])
        yield Piece(part, sub_shape, offset + begin * (step_bytes // itemsize))
