"""Selections to try on an array: a fixed set that covers the awkward cases (negative
indexes and steps, empty ranges, dropped axes) and a hypothesis strategy for the rest."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

Selection = tuple[int | slice, ...]


def awkward_selections(shape: Sequence[int]) -> list[Selection]:
    """Per-axis variations applied one axis at a time, plus a few combinations."""
    selections: list[Selection] = [()]
    for axis, length in enumerate(shape):
        prefix = (slice(None),) * axis
        items: list[int | slice] = [slice(None, None, -1), slice(1, None, 2), slice(2, 2)]
        if length:
            items += [0, -1, length // 2, slice(-2, None), slice(None, None, -3)]
        selections += [(*prefix, item) for item in items]
    if shape and all(shape):
        selections.append(tuple(-1 for _ in shape))
        selections.append(tuple(slice(None, None, -2) for _ in shape))
    return selections


def every_block(chunks: Sequence[Sequence[int]], limit: int = 64) -> Iterator[tuple[int, ...]]:
    """Block indexes in C order, at most ``limit`` of them (first and last included)."""
    grid = [range(len(dim)) for dim in chunks]
    blocks = list(itertools.islice(itertools.product(*grid), limit))
    last = tuple(len(dim) - 1 for dim in chunks)
    if last not in blocks and all(len(dim) for dim in chunks):
        blocks.append(last)
    return iter(blocks)


def slice_param(selection: Selection) -> str:
    """The ``slice=`` query parameter for ``selection`` (numpy basic indexing)."""
    parts = []
    for item in selection:
        if isinstance(item, slice):
            fields = [item.start, item.stop, item.step]
            parts.append(":".join("" if f is None else str(f) for f in fields))
        else:
            parts.append(str(item))
    return ",".join(parts)


def selections_strategy(shape: Sequence[int]):  # type: ignore[no-untyped-def]
    """A hypothesis strategy of valid basic selections of an array of ``shape``."""
    from hypothesis import strategies as st

    def item(length: int):  # type: ignore[no-untyped-def]
        bound = st.one_of(st.none(), st.integers(-length - 2, length + 2))
        step = st.one_of(st.none(), st.integers(-3, 3).filter(bool))
        slices = st.builds(slice, bound, bound, step)
        if length == 0:
            return slices
        return st.one_of(st.integers(-length, length - 1), slices)

    return st.integers(0, len(shape)).flatmap(
        lambda n: st.tuples(*(item(length) for length in shape[:n]))
    )
