"""File attributes (HDF5, Zarr, NetCDF, TIFF tags) as JSON-safe metadata.

Bytes become text, numpy scalars become Python numbers, small arrays become lists, and
non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no
spelling for them). Arrays too large to be useful metadata are summarised instead of
silently dropped, so a reader can tell the attribute exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy

MAX_ARRAY_ELEMENTS = 1000


def json_safe(value: Any) -> Any:
    """``value`` as something ``json.dumps`` accepts, without losing its meaning."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return int(value)  # IntEnum and friends as plain numbers
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, numpy.ndarray):
        return _array(value)
    if isinstance(value, numpy.generic):
        return _scalar(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def _scalar(value: numpy.generic) -> Any:
    if isinstance(value, numpy.void) and value.dtype.names:
        return {name: json_safe(value[name]) for name in value.dtype.names}
    if isinstance(value, numpy.complexfloating):
        return [json_safe(float(value.real)), json_safe(float(value.imag))]
    if isinstance(value, numpy.datetime64 | numpy.timedelta64):
        return str(value)
    return json_safe(value.item())


def _array(value: numpy.ndarray) -> Any:
    if value.size > MAX_ARRAY_ELEMENTS:
        return {
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "note": f"array attribute with more than {MAX_ARRAY_ELEMENTS} elements not inlined",
        }
    if value.ndim == 0:
        return json_safe(value[()])
    return [json_safe(v) for v in value]


def json_safe_mapping(items: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key): json_safe(value) for key, value in items.items()}
