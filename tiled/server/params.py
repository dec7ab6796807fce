"""Parsing of query parameters shared by several routes: paging, fields, sort, slices."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jmespath
import jmespath.exceptions
from fastapi import Request

from ..errors import BadRequestError, InvalidSliceError
from .documents import ALL_FIELDS
from .errors import ValidationFailure

MAX_PAGE_LIMIT = 300
DEFAULT_PAGE_LIMIT = 100

_SLICE_ITEM = r"(?:(?:-?\d+)?:){0,2}(?:-?\d+)?"
SLICE_PATTERN = rf"^{_SLICE_ITEM}(?:,{_SLICE_ITEM})*$"
_SLICE_RE = re.compile(SLICE_PATTERN)


class ParameterError(ValidationFailure):
    """A malformed query parameter (422, located in the query)."""

    def __init__(self, name: str, message: str, value: object = None) -> None:
        super().__init__(["query", name], message, value)


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int
    cursor: str | None = None  # opaque; only ever one we issued in links.next


def page_of(request: Request) -> Page:
    params = request.query_params
    offset_text = params.get("page[offset]")
    cursor = params.get("page[cursor]") or None
    if offset_text is not None and cursor is not None:
        raise BadRequestError("Cannot specify both page[cursor] and page[offset]")
    offset = _non_negative_int("page[offset]", offset_text or "0")
    limit = _non_negative_int("page[limit]", params.get("page[limit]") or str(DEFAULT_PAGE_LIMIT))
    if limit > MAX_PAGE_LIMIT:
        raise ParameterError(
            "page[limit]", f"page[limit] must be at most {MAX_PAGE_LIMIT}, got {limit}", limit
        )
    return Page(offset, limit, cursor)


def _non_negative_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ParameterError(name, f"{name} must be an integer, got {text!r}", text) from None
    if value < 0:
        raise ParameterError(name, f"{name} must not be negative, got {value}", value)
    return value


def fields_of(request: Request) -> frozenset[str] | None:
    """Requested attributes; None means all. ``fields=`` alone means ids only."""
    values = request.query_params.getlist("fields")
    if not values:
        return None
    unknown = sorted(set(values) - ALL_FIELDS - {""})
    if unknown:
        raise ParameterError(
            "fields",
            f"Unknown field(s) {unknown}; choose from {sorted(ALL_FIELDS)} or leave empty",
            unknown,
        )
    return frozenset(values)


def sorting_of(request: Request) -> list[tuple[str, int]]:
    """``sort=a&sort=-b`` to [(a, 1), (b, -1)]; ``-`` alone reverses the default order."""
    sorting: list[tuple[str, int]] = []
    for raw in request.query_params.getlist("sort"):
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            direction = -1 if item.startswith("-") else 1
            key = item[1:] if item[0] in "+-" else item
            if any(k == key for k, _ in sorting):
                raise BadRequestError(f"Duplicate sorting key: {key}")
            sorting.append((key, direction))
    return sorting


def bool_param(request: Request, name: str, default: bool = False) -> bool:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ParameterError(name, f"{name} must be true or false, got {text!r}", text)


def select_metadata_of(request: Request) -> jmespath.parser.ParsedResult | None:
    expression = request.query_params.get("select_metadata")
    if not expression:
        return None
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as err:
        raise BadRequestError(
            f"select_metadata {expression!r} is not valid JMESPath: {err}"
        ) from err


Selection = tuple[int | slice, ...]


def parse_slice(text: str | None) -> Selection:
    """``0,1:3:1,::2`` to a tuple of ints and slices (numpy basic indexing)."""
    if not text:
        return ()
    if not _SLICE_RE.match(text):
        raise ParameterError(
            "slice",
            f"slice {text!r} is malformed; use comma-separated integers or start:stop:step items",
            text,
        )
    items: list[int | slice] = []
    for part in text.split(","):
        if ":" in part:
            pieces = [int(p) if p else None for p in part.split(":")]
            if len(pieces) == 3 and pieces[2] == 0:
                raise InvalidSliceError(f"slice step cannot be zero in {text!r}")
            items.append(slice(*pieces))
        elif part:
            items.append(int(part))
        else:
            items.append(slice(None))
    return tuple(items)


def parse_block(text: str | None, ndim: int) -> tuple[int, ...]:
    if text is None:
        raise ParameterError("block", "block is required: one chunk index per dimension")
    if text == "" and ndim == 0:
        return ()
    try:
        block = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise ParameterError(
            "block", f"block {text!r} must be comma-separated integers", text
        ) from None
    if len(block) != ndim:
        raise ParameterError(
            "block", f"block {text!r} has {len(block)} indexes; this array has {ndim} dimensions"
        )
    return block


def selected_shape(shape: Sequence[int], selection: Selection) -> tuple[int, ...]:
    """Shape of ``array[selection]`` for an array of ``shape``, checking bounds."""
    if len(selection) > len(shape):
        raise InvalidSliceError(
            f"slice has {len(selection)} items but the array has {len(shape)} dimensions"
        )
    result = []
    for axis, length in enumerate(shape):
        if axis >= len(selection):
            result.append(length)
            continue
        item = selection[axis]
        if isinstance(item, int):
            if not -length <= item < length:
                raise InvalidSliceError(
                    f"Index {item} is out of range for dimension {axis} of length {length}"
                )
            continue
        result.append(len(range(*item.indices(length))))
    return tuple(result)


def check_expected_shape(text: str | None, actual: Sequence[int]) -> None:
    """The client states the shape it will reshape into; disagreeing is its mistake (400)."""
    if not text:
        return
    if text == "scalar":
        expected: tuple[int, ...] = ()
    else:
        try:
            expected = tuple(int(p) for p in text.split(","))
        except ValueError:
            raise ParameterError(
                "expected_shape", f"expected_shape {text!r} is malformed"
            ) from None
    if tuple(actual) != expected and not (expected == () and tuple(actual) in ((), (1,))):
        raise BadRequestError(
            f"The expected_shape {list(expected)} does not match the actual shape {list(actual)}"
        )
