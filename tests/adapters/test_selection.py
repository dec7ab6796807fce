"""Selections behave exactly like numpy basic indexing, inside blocks too."""

import math

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiled.adapters.chunking import (
    MAX_BLOCK_BYTES,
    capped_chunk_shape,
    chunks_from_shape,
    regular_chunks,
)
from tiled.adapters.selection import (
    as_slices,
    contiguous_span,
    forward,
    normalise,
    pieces,
    result_shape,
    within_block,
)
from tiled.errors import InvalidSliceError
from tiled.structures.array import ArrayStructure
from tiled.testing.selections import selections_strategy

shapes = st.lists(st.integers(0, 7), min_size=0, max_size=3).map(tuple)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_normalised_selection_equals_numpy(data):
    shape = data.draw(shapes)
    array = numpy.arange(int(numpy.prod(shape)), dtype="int64").reshape(shape)
    selection = data.draw(selections_strategy(shape))
    normalised = normalise(selection, shape)
    expected = array[selection]
    assert numpy.array_equal(array[as_slices(normalised)], expected)
    assert result_shape(normalised) == expected.shape
    index, flips = forward(normalised)
    assert all(s.step > 0 for s in index if isinstance(s, slice))
    forwards = array[index]
    assert numpy.array_equal(numpy.flip(forwards, flips) if flips else forwards, expected)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_selection_inside_a_block_equals_numpy(data):
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple))
    chunk = tuple(data.draw(st.integers(1, n)) for n in shape)
    structure = ArrayStructure.from_array(
        numpy.empty(shape), chunks=chunks_from_shape(shape, chunk, 8)
    )
    block = tuple(data.draw(st.integers(0, len(c) - 1)) for c in structure.chunks)
    offset = structure.block_offset(block)
    block_shape = structure.block_shape(block)
    inner = data.draw(selections_strategy(block_shape))
    array = numpy.arange(int(numpy.prod(shape))).reshape(shape)
    region = tuple(slice(o, o + n) for o, n in zip(offset, block_shape, strict=True))
    composed = within_block(offset, block_shape, inner)
    assert numpy.array_equal(array[as_slices(composed)], array[region][inner])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_contiguous_span_is_the_selected_run(data):
    """When a selection is said to be one run of the C-order array, that run holds exactly
    the selected elements; whole arrays and runs of whole rows are recognised."""
    shape = data.draw(shapes)
    array = numpy.arange(int(numpy.prod(shape)), dtype="int64").reshape(shape)
    normalised = normalise(data.draw(selections_strategy(shape)), shape)
    span = contiguous_span(normalised, shape)
    if span is not None:
        expected = array[as_slices(normalised)].reshape(-1)
        assert numpy.array_equal(array.reshape(-1)[span[0] : span[1]], expected)
    assert contiguous_span(normalise((), shape), shape) == (0, array.size)
    if len(shape) >= 2 and shape[0] >= 2:
        rows = normalise((slice(1, 2), slice(None)), shape)
        assert contiguous_span(rows, shape) is not None


def test_scattered_selections_have_no_span():
    shape = (4, 5, 6)
    for selection in [(slice(None), 1), (slice(0, 4, 2),), (slice(None, None, -1),)]:
        assert contiguous_span(normalise(selection, shape), shape) is None
    assert contiguous_span(normalise((2, slice(1, 3)), shape), shape) == (
        66,
        78,
    )  # rows 1-2 of page 2


def test_out_of_range_and_too_many_items_are_refused():
    with pytest.raises(InvalidSliceError, match="out of range"):
        normalise((5,), (5,))
    with pytest.raises(InvalidSliceError, match="dimensions"):
        normalise((0, 0), (5,))


def test_block_cap_splits_leading_axes_first():
    big = capped_chunk_shape((4096, 4096), 8)  # 128 MiB as one chunk
    assert big == (2048, 4096)
    assert MAX_BLOCK_BYTES >= 2048 * 4096 * 8
    huge_rows = capped_chunk_shape((1, 1, 10**9), 8)
    assert huge_rows == (1, 1, MAX_BLOCK_BYTES // 8)
    assert capped_chunk_shape((5, 5), 8) == (5, 5)
    assert chunks_from_shape((10, 3), (4, 3), 8) == ((4, 4, 2), (3,))
    assert chunks_from_shape((0, 3), None, 8) == ((0,), (3,))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_pieces_are_contiguous_runs_of_the_result(data):
    shape = data.draw(st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple))
    array = numpy.arange(int(numpy.prod(shape)), dtype="int64").reshape(shape)
    normalised = normalise(data.draw(selections_strategy(shape)), shape)
    limit = data.draw(st.integers(1, 200))
    chunks = tuple(data.draw(st.sampled_from(_grids(n))) for n in shape)
    for grid in (None, chunks):
        parts = pieces(normalised, 8, limit, grid)
        joined = b"".join(numpy.ascontiguousarray(array[as_slices(p)]).tobytes() for p in parts)
        assert joined == numpy.ascontiguousarray(array[as_slices(normalised)]).tobytes()
        assert all(
            math.prod(result_shape(p)) * 8 <= 2 * max(limit, _row(normalised)) for p in parts
        )


def _row(selection):
    """Bytes of one step along the axis that pieces() cuts (the whole result if none)."""
    shape = result_shape(selection)
    cut = next((i for i, n in enumerate(shape) if n > 1), None)
    return 8 * math.prod(shape[cut + 1 :] if cut is not None else shape)


def _grids(length: int) -> list[tuple[int, ...]]:
    """A few ways of cutting an axis of ``length`` into blocks."""
    if length == 0:
        return [(0,)]
    return [(length,), (1,) * length, tuple(regular_chunks(length, 2)), (length - 1, 1)[:length]]


def test_parts_end_on_block_edges_when_blocks_allow():
    """16 MiB blocks, parts of about 8 MiB: whole blocks (decoded once each); small blocks
    gathered; blocks too big for two parts cut as before."""
    mib = 1024**2
    whole = normalise((), (128, 256, 512))
    big = pieces(whole, 8, 8 * mib, ((16,) * 8, (256,), (512,)))
    assert [p[0] for p in big] == [range(i, i + 16) for i in range(0, 128, 16)]
    small = pieces(whole, 8, 8 * mib, ((3,) * 42 + (2,), (256,), (512,)))
    assert all(p[0].start % 3 == 0 and len(p[0]) <= 8 for p in small)
    assert sum(len(p[0]) for p in small) == 128
    huge = pieces(whole, 8, 8 * mib, ((64, 64), (256,), (512,)))
    assert [len(p[0]) for p in huge] == [8] * 16
    offset = pieces(normalise((slice(10, 50),), (128, 256, 512)), 8, 8 * mib, ((16,) * 8,) * 3)
    assert [(p[0].start, p[0].stop) for p in offset] == [(10, 16), (16, 32), (32, 48), (48, 50)]
