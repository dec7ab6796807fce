"""PostgreSQL: JSONB operators (GIN), tsvector full text, POSIX regular expressions."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Numeric, Text

from ...errors import InvalidQueryError
from ...queries import (
    Comparison,
    Contains,
    Eq,
    In,
    KeyPresent,
    Like,
    NotEq,
    NotIn,
    Query,
    Regex,
)
from ..orm import FulltextBits, FulltextWord, JSONNumber, Node
from . import key_path
from .index import PREFIX

# Words the parser turns into exactly one lexeme, themselves (longer ones it drops).
_WHOLE_LEXEME = re.compile(r"[a-z]{1,2047}|[0-9]{1,2047}")
_MAX_JOINED_WORDS = 8  # beyond, planning the joins costs more than GIN

_OPERATORS = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__"}
# SQLSTATE of errors a user's query can cause: bad regular expression.
_QUERY_ERRORS = {"2201B": "is not a valid PostgreSQL regular expression"}


def _jsonb(value: Any) -> ColumnElement[Any]:
    return cast(literal(json.dumps(value), Text), JSONB)


def _definite(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """NULL (a missing key) counts as no match, so that NOT keeps its meaning."""
    return case((condition, true()), else_=false())


def _nest(parts: list[str], value: Any) -> Any:
    for part in reversed(parts):
        value = {part: value}
    return value


class PostgreSQLSearch:
    name = "postgresql"

    def _path(self, key: str) -> ColumnElement[Any]:
        return cast(literal(key_path(key), ARRAY(Text)), ARRAY(Text))

    def _value(self, key: str) -> ColumnElement[Any]:
        return Node.metadata_.op("#>")(self._path(key))

    def _text(self, key: str) -> ColumnElement[Any]:
        return Node.metadata_.op("#>>", return_type=Text())(self._path(key)).collate("C")

    def _type(self, key: str) -> ColumnElement[Any]:
        return func.jsonb_typeof(self._value(key))

    def _equals(self, key: str, value: Any) -> ColumnElement[bool]:
        # jsonb equality: numbers by value, objects regardless of key order.
        equal = self._value(key).bool_op("=")(_jsonb(value))
        return and_(self._type(key) == _json_type(value), equal)

    def json_condition(self, query: Query) -> ColumnElement[bool]:
        return _definite(self._condition(query))

    def _condition(self, query: Query) -> ColumnElement[bool]:
        if isinstance(query, Eq):
            return self._equals(query.key, query.value)
        if isinstance(query, NotEq):
            return not_(self.json_condition(Eq(query.key, query.value)))
        if isinstance(query, NotIn):
            return not_(self.json_condition(In(query.key, query.value)))
        if isinstance(query, In):
            return or_(false(), *(self._equals(query.key, v) for v in query.value))
        if isinstance(query, Comparison):
            return self._compare(query)
        if isinstance(query, Contains):
            return self._contains(query.key, query.value)
        if isinstance(query, KeyPresent):
            present = self._value(query.key).is_not(None)
            return present if query.exists else not_(present)
        if isinstance(query, Like | Regex):
            return and_(
                self._type(query.key) == "string", self.text_matches(self._text(query.key), query)
            )
        raise TypeError(f"{type(query).__name__} is not a metadata query")

    def text_matches(self, column: Any, query: Query) -> ColumnElement[bool]:
        if isinstance(query, Like):
            matched: ColumnElement[bool] = column.like(query.pattern, escape="\\")
            return matched
        assert isinstance(query, Regex)
        found: ColumnElement[bool] = column.bool_op("~" if query.case_sensitive else "~*")(
            query.pattern
        )
        return found

    def _compare(self, query: Comparison) -> ColumnElement[bool]:
        operator = _OPERATORS[query.operator]
        if isinstance(query.value, str):
            compared = getattr(self._text(query.key), operator)(query.value)
            return case((self._type(query.key) == "string", compared), else_=false())
        # CASE keeps PostgreSQL from casting non-numbers.
        number = cast(self._value(query.key), Numeric)
        compared = getattr(number, operator)(self.number(query.value))
        return case((self._type(query.key) == "number", compared), else_=false())

    def _contains(self, key: str, value: Any) -> ColumnElement[bool]:
        array = self._value(key)
        if isinstance(value, list | dict):
            # containment would accept a larger object: compare elements for equality
            element = func.jsonb_array_elements(array).table_valued("value").alias("element")
            found = exists(
                select(literal(1))
                .select_from(element)
                .where(element.c.value.bool_op("=")(_jsonb(value)))
            )
            return and_(
                self._type(key) == "array", case((self._type(key) == "array", found), else_=false())
            )
        return and_(self._type(key) == "array", array.bool_op("@>")(_jsonb([value])))

    def containment(self, parts: list[str], value: Any) -> ColumnElement[bool] | None:
        """GIN (jsonb_path_ops) pre-filter: scalars at a path are found by containment."""
        if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], list | dict):
            return Node.metadata_.bool_op("@>")(_jsonb(_nest(parts, value)))
        if isinstance(value, list | dict):
            return None  # containment of containers is not equality
        return Node.metadata_.bool_op("@>")(_jsonb(_nest(parts, value)))

    def fulltext(self, words: list[str], *, indexed: bool) -> ColumnElement[bool]:
        # nodes.fulltext: stored by migration 0002, GIN-indexed with parent_id; not mapped
        # in the ORM, so that loading nodes does not load it.
        query = func.plainto_tsquery(literal_column("'simple'::regconfig"), " ".join(words))
        return literal_column("nodes.fulltext").bool_op("@@")(query)

    # an index-only scan of fulltext_words per word, merge-joined on node_id
    fulltext_countable = True

    def fulltext_source(self, words: list[str], parent_id: int) -> Select[Any] | None:
        """The nodes having every word, from ``fulltext_words`` (migration 0005), in node
        order. Only for words that PostgreSQL's parser keeps whole as their own lexeme
        (plain ASCII letters, or digits: "12e3x" is two lexemes); otherwise None, and GIN
        finds the matches unordered, to be sorted (listing.py)."""
        distinct = _joinable(words)
        if distinct is None:
            return None
        rows = [aliased(FulltextWord) for _ in distinct]
        first = rows[0]
        statement = select(first.node_id.label("node_id")).where(
            first.parent_id == parent_id, first.word == distinct[0]
        )
        for row, word in zip(rows[1:], distinct[1:], strict=True):
            same_node = row.node_id == first.node_id
            statement = statement.join(
                row, and_(row.parent_id == parent_id, row.word == word, same_node)
            )
        return statement

    def fulltext_count(self, words: list[str], parent_id: int) -> Select[Any] | None:
        """The number of nodes having every word, from ``fulltext_bits`` (migration
        0006): the AND of the words' bitmaps, block by block, bits counted. For the same
        words as ``fulltext_source`` (whose rows the bitmaps hold), otherwise None."""
        distinct = _joinable(words)
        if distinct is None:
            return None
        rows = [aliased(FulltextBits) for _ in distinct]
        first = rows[0]
        bits = first.bits
        statement = select().where(first.parent_id == parent_id, first.word == distinct[0])
        for row, word in zip(rows[1:], distinct[1:], strict=True):
            same_block = and_(row.parent_id == parent_id, row.block == first.block)
            statement = statement.join(row, and_(row.word == word, same_block))
            bits = bits.op("&")(row.bits)
        total = func.coalesce(func.sum(func.bit_count(bits)), 0)
        return statement.add_columns(total).select_from(first)

    def has_spec(self, name: str) -> ColumnElement[bool]:
        return Node.specs.bool_op("@>")(_jsonb([{"name": name}]))

    def number(self, value: int | float) -> ColumnElement[Any]:
        exact = Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))
        return literal(exact, JSONNumber())

    def decode_number(self, text: str) -> Any:
        return Decimal(text)

    def sort_parts(self, parts: list[str]) -> tuple[ColumnElement[Any], ...]:
        path = cast(literal(parts, ARRAY(Text)), ARRAY(Text))
        value = Node.metadata_.op("#>")(path)
        kind = func.jsonb_typeof(value)
        rank = case(
            (kind == "number", 0),
            (kind == "string", 1),
            (value.bool_op("=")(_jsonb(False)), 2),
            (value.bool_op("=")(_jsonb(True)), 3),
            (kind == "null", 4),
            (kind == "array", 5),
            (kind == "object", 6),
            else_=None,
        )
        num = case((kind == "number", cast(value, Numeric)), else_=0)
        text = func.left(Node.metadata_.op("#>>", return_type=Text())(path), PREFIX).collate("C")
        txt = case((kind == "string", text), else_=literal("").collate("C"))
        return rank, num, txt

    def distinct_value(self, parts: list[str]) -> ColumnElement[Any]:
        return Node.metadata_.op("#>")(cast(literal(parts, ARRAY(Text)), ARRAY(Text)))

    def decode_distinct(self, value: Any) -> Any:
        return value  # jsonb arrives decoded

    def translate_error(self, error: DBAPIError) -> Exception | None:
        state = getattr(error.orig, "sqlstate", None) or getattr(
            getattr(error.orig, "__cause__", None), "sqlstate", None
        )
        if state in _QUERY_ERRORS:
            detail = str(error.orig).split("\n")[0]
            return InvalidQueryError(f"The regular expression {_QUERY_ERRORS[state]}: {detail}")
        return None


def _joinable(words: list[str]) -> list[str] | None:
    """The distinct words, if the word tables hold each as it is and few enough to join."""
    distinct = list(dict.fromkeys(words))
    if len(distinct) > _MAX_JOINED_WORDS or not all(map(_WHOLE_LEXEME.fullmatch, distinct)):
        return None
    return distinct


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
