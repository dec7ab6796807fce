"""Sort orders, their SQL columns, and opaque keyset cursors.

An order is a list of metadata keys, each ascending or descending, then the default
(insertion) order, which breaks ties. For one key the value is compared as (rank of its
JSON type, number, first 256 characters of text), so numbers < strings < false < true <
null < arrays < objects; ``-key`` reverses that, ties included, so that one index serves
both directions; nodes lacking the key come last either way. Ties (and the nodes lacking
a key) follow the default order in the direction of the last key, unless the default key
is given explicitly (``sort=-`` or ``sort=+``).

A cursor names the last row of a page by its position in the order, so the next page
is an index seek, however deep. It is base64url JSON carrying a fingerprint of the order
it was made for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, not_, or_, tuple_

from ...errors import BadRequestError
from . import key_path
from .index import index_path

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from . import SearchDialect


@dataclass(frozen=True)
class SortKey:
    key: str
    direction: int  # 1 ascending, -1 descending

    @property
    def parts(self) -> list[str]:
        return key_path(self.key)

    @property
    def path(self) -> str | None:
        return index_path(self.parts)


@dataclass(frozen=True)
class Ordering:
    keys: tuple[SortKey, ...]
    tie: int  # direction of the default order, which breaks ties

    @classmethod
    def parse(cls, sorting: Sequence[tuple[str, int]]) -> Ordering:
        """``[("i", 1), ("", -1)]`` style pairs; keys after the default key cannot matter."""
        keys: list[SortKey] = []
        for key, direction in sorting:
            if not key:
                return cls(tuple(keys), -1 if direction < 0 else 1)
            key_path(key)  # reject malformed keys early
            keys.append(SortKey(key, 1 if direction >= 0 else -1))
        return cls(tuple(keys), keys[-1].direction if keys else 1)

    @property
    def single_indexed(self) -> SortKey | None:
        """The one sort key, when the index can deliver the order (the fast path)."""
        if len(self.keys) == 1 and self.keys[0].path is not None:
            return self.keys[0]
        return None

    def fingerprint(self) -> str:
        text = json.dumps([[k.key, k.direction] for k in self.keys] + [self.tie])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- columns and seeks ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    expression: Any  # a column or SQL expression
    direction: int
    kind: str  # "int", "num" or "text": how a cursor stores its value


def ordered(columns: Sequence[Column]) -> list[Any]:
    return [c.expression.asc() if c.direction > 0 else c.expression.desc() for c in columns]


def after(columns: Sequence[Column], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``columns``.

    Runs of equal direction become row-value comparisons, which both databases turn
    into index seeks; a change of direction needs the lexicographic expansion.
    """
    runs: list[tuple[list[Column], list[Any]]] = []
    for column, value in zip(columns, values, strict=True):
        if runs and runs[-1][0][0].direction == column.direction:
            runs[-1][0].append(column)
            runs[-1][1].append(value)
        else:
            runs.append(([column], [value]))
    return _after_runs(runs)


def _after_runs(runs: list[tuple[list[Column], list[Any]]]) -> ColumnElement[bool]:
    columns, values = runs[0]
    row = tuple_(*(c.expression for c in columns)) if len(columns) > 1 else columns[0].expression
    bound = tuple_(*values) if len(values) > 1 else values[0]
    ascending = columns[0].direction > 0
    strictly = row > bound if ascending else row < bound
    if len(runs) == 1:
        return strictly
    # (this run >= value, seekable) and not (this run == value and rest <= value)
    at_least = row >= bound if ascending else row <= bound
    equal = and_(*(c.expression == v for c, v in zip(columns, values, strict=True)))
    return and_(at_least, not_(and_(equal, not_(_after_runs(runs[1:])))))


def either(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(*conditions)


# -- cursors ------------------------------------------------------------------------------


def encode_cursor(ordering: Ordering, phase: int, kinds: Sequence[str], row: Any) -> str:
    values = [_encode_value(kind, v) for kind, v in zip(kinds, row, strict=True)]
    payload = json.dumps([ordering.fingerprint(), phase, values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Cursor:
    phase: int
    values: list[Any]


def decode_cursor(
    token: str, ordering: Ordering, kinds: Sequence[Sequence[str]], dialect: SearchDialect
) -> Cursor:
    """``kinds[phase]`` lists the value kinds of that phase's columns."""
    problem = (
        f"page[cursor]={token!r} is not a cursor of this listing: use the links.next URL "
        "of the previous page unchanged, with the same sort"
    )
    try:
        padded = token + "=" * (-len(token) % 4)
        fingerprint, phase, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(phase, int) or not 0 <= phase < len(kinds):
            raise BadRequestError(problem)
        expected = kinds[phase]
        if fingerprint != ordering.fingerprint() or len(values) != len(expected):
            raise BadRequestError(problem)
        decoded = [_decode_value(k, v, dialect) for k, v in zip(expected, values, strict=True)]
    except (ValueError, TypeError, IndexError, binascii.Error) as err:
        raise BadRequestError(problem) from err
    return Cursor(phase, decoded)


def _encode_value(kind: str, value: Any) -> Any:
    if kind == "num":
        return str(value)
    return int(value) if kind == "int" else str(value)


def _decode_value(kind: str, value: Any, dialect: SearchDialect) -> Any:
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("not an integer")
        return value
    if not isinstance(value, str):
        raise ValueError("not a string")
    return dialect.decode_number(value) if kind == "num" else value
