"""Selections against numpy itself, and the split of large reads into contiguous pieces."""

import math

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tiled.client import slicing

SHAPE = (7, 5, 6)
DATA = numpy.arange(math.prod(SHAPE)).reshape(SHAPE)


def apply(items):
    """What the server does with the encoded selection (Python slicing of the text)."""
    parts = []
    for text in slicing.encode(items).split(","):
        if ":" in text:
            parts.append(slice(*(int(p) if p else None for p in text.split(":"))))
        else:
            parts.append(int(text))
    return DATA[tuple(parts)]


@settings(max_examples=300, deadline=None)
@given(hnp.basic_indices(SHAPE, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
def test_normalize_and_encode_agree_with_numpy(key):
    selection = slicing.normalize(key, SHAPE)
    expected = DATA[key]
    got = apply(selection.items) if selection.items else DATA
    assert got.shape == selection.shape
    assert got.reshape(selection.final_shape()).shape == expected.shape
    assert numpy.array_equal(got.reshape(selection.final_shape()), expected)


@settings(max_examples=200, deadline=None)
@given(
    hnp.basic_indices(SHAPE, min_dims=1, allow_newaxis=False, allow_ellipsis=False),
    st.integers(1, 400),
)
def test_pieces_tile_the_result_in_c_order(key, max_bytes):
    selection = slicing.normalize(key, SHAPE)
    expected = DATA[key]
    out = numpy.full(selection.shape, -1).reshape(-1)
    itemsize = DATA.itemsize
    covered = 0
    for piece in slicing.pieces(selection.items, itemsize, max_bytes):
        values = apply(piece.items).reshape(-1)
        assert values.size == math.prod(piece.shape)
        assert values.size * itemsize <= max_bytes or values.size == 1 or len(piece.shape) == 0
        out[piece.offset : piece.offset + values.size] = values
        covered += values.size
    assert covered == expected.size
    assert numpy.array_equal(out.reshape(expected.shape), expected)


def test_negative_steps_that_run_past_zero_omit_the_stop():
    selection = slicing.normalize(slice(None, None, -1), (4,))
    assert slicing.encode(selection.items) == "3::-1"
    selection = slicing.normalize(slice(5, 0, -2), (7,))
    assert slicing.encode(selection.items) == "5::-2"
    assert apply_1d(selection.items, 7) == [5, 3, 1]
    selection = slicing.normalize(slice(5, 2, -1), (7,))
    assert slicing.encode(selection.items) == "5:2:-1"


def apply_1d(items, length):
    start, stop, step = (int(p) if p else None for p in slicing.encode(items).split(":"))
    return list(range(length))[start:stop:step]


def test_expected_shape_text():
    assert slicing.expected_shape(()) == "scalar"
    assert slicing.expected_shape((2, 3)) == "2,3"


@pytest.mark.parametrize("key", [(0, 0, 0, 0), (..., ...), 7, -8, [1], numpy.array([1]), 1.5])
def test_invalid_keys(key):
    with pytest.raises((IndexError, TypeError)):
        slicing.normalize(key, SHAPE)
