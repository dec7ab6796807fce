"""Exact comparison of what tiled served with what a format's own library reads.

"Exact" means the same values in the same dtype (byte order included); the only
conversions allowed are the ones the wire contract defines: variable-length strings
become fixed-width unicode, and text columns may change their pandas dtype.
"""

from __future__ import annotations

from typing import Any

import numpy
import pandas


def as_text(values: Any) -> list[Any]:
    """Strings (bytes decoded) as nested Python lists, for comparing text arrays."""
    array = numpy.asarray(values, dtype=object)
    flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel()]
    result: list[Any] = numpy.array(flat, dtype=object).reshape(array.shape).tolist()
    return result


def select(array: numpy.ndarray, selection: Any) -> numpy.ndarray:
    """``array[selection]`` keeping the dtype when the result is a scalar (numpy turns
    big-endian and fixed-width scalars into native ones)."""
    return numpy.asarray(array[selection], dtype=array.dtype)


def assert_same_array(got: numpy.ndarray, expected: numpy.ndarray, what: str = "array") -> None:
    """Same shape, same dtype and same values (NaN equal to NaN)."""
    got = numpy.asarray(got)
    expected = numpy.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    if expected.dtype.kind in "OTU" or (expected.dtype.kind == "S" and got.dtype.kind == "U"):
        assert got.dtype.kind in "US", f"{what}: text served as {got.dtype}"
        assert as_text(got) == as_text(expected), f"{what}: text differs"
        return
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    if expected.dtype.fields is not None or expected.dtype.kind == "V":
        assert got.tobytes() == expected.tobytes(), f"{what}: records differ"
        return
    equal_nan = expected.dtype.kind in "fc"
    assert numpy.array_equal(got, expected, equal_nan=equal_nan), f"{what}: values differ"


def assert_same_frame(
    got: pandas.DataFrame, expected: pandas.DataFrame, what: str = "table"
) -> None:
    """Same column names in the same order and, per column, the same values and kind."""
    assert [str(c) for c in got.columns] == [str(c) for c in expected.columns], (
        f"{what}: columns {list(got.columns)} != {list(expected.columns)}"
    )
    assert len(got) == len(expected), f"{what}: {len(got)} rows != {len(expected)}"
    for name in expected.columns:
        have = got[name].to_numpy()
        want = expected[name].to_numpy()
        if want.dtype.kind in "OTU" or have.dtype.kind in "OTU":
            assert _text_or_none(have) == _text_or_none(want), f"{what}[{name!r}] differs"
            continue
        assert_same_array(have, want, f"{what}[{name!r}]")


def _text_or_none(values: numpy.ndarray) -> list[Any]:
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]
