"""What the ``metadata_index`` table holds, and conditions that read it.

The table (migration 0002, maintained by triggers) has one row per metadata value
reachable through objects up to ``DEPTH`` levels (under the key's path), per scalar
element of an array at such a key (under the path + ``ELEMENTS``), and per spec name
(under ``SPEC_PATH``). A query on an indexable key becomes an index range scan on
``(parent_id, path, rank, num, txt, node_id)``; a query the index cannot answer exactly
(long strings, arrays or objects as values) uses it to find candidates and checks them
against the JSON. The constants must match the migration that built the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import aliased

from ..orm import MetadataIndex

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from . import SearchDialect

DEPTH = 4
PREFIX = 256
MAX_PATH = 256
ELEMENTS = "\\"  # suffix of the path of an array's elements; no escaped key ends so
SPEC_PATH = ELEMENTS  # spec names: the elements of the empty path

NUMBER, STRING, FALSE, TRUE, NULL, ARRAY, OBJECT = range(7)
ELEMENT = 10  # added to the rank of a scalar found inside an array


def escape(part: str) -> str:
    return part.replace("\\", "\\\\").replace(".", "\\.")


def index_path(parts: list[str], *, elements: bool = False) -> str | None:
    """The stored path of a key (or of its array's elements), or None when the index
    does not cover it."""
    if len(parts) > DEPTH:
        return None
    path = ".".join(escape(p) for p in parts) + (ELEMENTS if elements else "")
    return path if len(path) <= MAX_PATH else None


def rank_of(value: Any) -> int:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return ARRAY if isinstance(value, list | tuple) else OBJECT


def is_exact_text(value: str) -> bool:
    """Shorter strings are stored whole; longer ones as a prefix that needs a recheck."""
    return len(value) < PREFIX


class IndexLookup:
    """Selects of node ids from the index for one container and one key path."""

    def __init__(self, dialect: SearchDialect, parent_id: int, path: str) -> None:
        self.dialect = dialect
        self.parent_id = parent_id
        self.path = path
        self.row = aliased(MetadataIndex)

    def select(self, *conditions: ColumnElement[bool]) -> Select[Any]:
        row = self.row
        return select(row.node_id).where(
            row.parent_id == self.parent_id, row.path == self.path, *conditions
        )

    def value(self, value: Any, base: int = 0) -> tuple[ColumnElement[bool], bool]:
        """Condition matching a stored value equal to ``value``; and whether it is exact."""
        row, rank = self.row, rank_of(value)
        if rank == NUMBER:
            return and_(row.rank == base + NUMBER, row.num == self.dialect.number(value)), True
        if rank == STRING:
            exact = is_exact_text(value)
            text = value if exact else value[:PREFIX]
            return and_(row.rank == base + STRING, row.num == 0, row.txt == text), exact
        # booleans and null are exact; arrays and objects only say "some array/object"
        return row.rank == base + rank, rank not in (ARRAY, OBJECT)

    def compare(self, operator: str, value: int | float | str) -> tuple[ColumnElement[bool], bool]:
        """Ordered comparison with a number or a string (strings by code point)."""
        row = self.row
        if isinstance(value, str):
            exact = is_exact_text(value)
            bound = value if exact else value[:PREFIX]
            # A string greater than ``value`` has a prefix >= value's prefix; exact when
            # ``value`` is shorter than the stored prefix.
            if not exact:
                operator = {"lt": "le", "gt": "ge"}.get(operator, operator)
            condition = _OPERATORS[operator](row.txt, bound)
            return and_(row.rank == STRING, row.num == 0, condition), exact
        return and_(
            row.rank == NUMBER, _OPERATORS[operator](row.num, self.dialect.number(value))
        ), True


_OPERATORS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def like_prefix(pattern: str) -> str:
    """The literal text a LIKE pattern (backslash escapes) starts with."""
    prefix = []
    escaped = False
    for char in pattern:
        if escaped:
            prefix.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "%_":
            break
        else:
            prefix.append(char)
    return "".join(prefix)[:PREFIX]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None
