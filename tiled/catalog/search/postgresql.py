"""PostgreSQL: JSONB operators for metadata, POSIX regular expressions, text search."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, cast, false, func, literal, not_, or_
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Numeric, Text

from ...errors import InvalidQueryError
from ...queries import (
    Comparison,
    Contains,
    Eq,
    FullText,
    In,
    KeyPresent,
    Like,
    NotEq,
    NotIn,
    Query,
    Regex,
)
from ..orm import Node
from . import key_path

_OPERATORS = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__"}


def _jsonb(value: Any) -> ColumnElement[Any]:
    return cast(literal(json.dumps(value), Text), JSONB)


class PostgreSQLSearch:
    def _path(self, key: str) -> ColumnElement[Any]:
        return cast(literal(key_path(key), ARRAY(Text)), ARRAY(Text))

    def _value(self, key: str) -> ColumnElement[Any]:
        return Node.metadata_.op("#>")(self._path(key))

    def _text(self, key: str) -> ColumnElement[Any]:
        # Typed as text so that LIKE, regex and COLLATE apply to it (not to JSON).
        return Node.metadata_.op("#>>", return_type=Text)(self._path(key))

    def _type(self, key: str) -> ColumnElement[Any]:
        return func.jsonb_typeof(self._value(key))

    def _equals(self, key: str, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, str | int | float | bool | list | dict) and value is not None:
            raise InvalidQueryError(f"Cannot compare metadata with {value!r}")
        equal = self._value(key).op("=")(_jsonb(value))
        if isinstance(value, list | dict):
            return equal
        return and_(self._type(key) == _json_type(value), equal)

    def metadata_condition(self, query: Query) -> ColumnElement[bool]:
        if isinstance(query, Eq):
            return self._equals(query.key, query.value)
        if isinstance(query, NotEq):
            return or_(self._value(query.key).is_(None), not_(self._equals(query.key, query.value)))
        if isinstance(query, NotIn):
            return or_(self._value(query.key).is_(None), not_(self._in(query.key, query.value)))
        if isinstance(query, In):
            return self._in(query.key, query.value)
        if isinstance(query, Comparison):
            return self._compare(query)
        if isinstance(query, Contains):
            return and_(
                self._type(query.key) == "array",
                self._value(query.key).op("@>")(_jsonb([query.value])),
            )
        if isinstance(query, KeyPresent):
            present = self._value(query.key).is_not(None)
            return present if query.exists else not_(present)
        if isinstance(query, Like):
            return and_(
                self._type(query.key) == "string", self._text(query.key).like(query.pattern)
            )
        if isinstance(query, Regex):
            operator = "~" if query.case_sensitive else "~*"
            return and_(
                self._type(query.key) == "string",
                self._text(query.key).op(operator)(query.pattern),
            )
        if isinstance(query, FullText):
            vector = func.to_tsvector("simple", Node.metadata_)
            return vector.op("@@")(func.plainto_tsquery("simple", query.text))
        raise InvalidQueryError(f"The query type {type(query).__name__!r} is not supported")

    def _in(self, key: str, values: list[Any]) -> ColumnElement[bool]:
        if not values:
            return false()
        return or_(*(self._equals(key, v) for v in values))

    def _compare(self, query: Comparison) -> ColumnElement[bool]:
        operator = _OPERATORS[query.operator]
        if isinstance(query.value, str):
            text = self._text(query.key).collate("C")
            return and_(self._type(query.key) == "string", getattr(text, operator)(query.value))
        number = cast(self._text(query.key), Numeric)
        guarded = and_(self._type(query.key) == "number", getattr(number, operator)(query.value))
        # Guard the cast: CASE keeps PostgreSQL from casting non-numbers.
        from sqlalchemy import case

        return case((self._type(query.key) == "number", guarded), else_=false())

    def has_spec(self, name: str) -> ColumnElement[bool]:
        return Node.specs.op("@>")(_jsonb([{"name": name}]))

    def sort_columns(self, key: str, direction: int) -> list[ColumnElement[Any]]:
        value = self._value(key)
        ordered = value.asc() if direction > 0 else value.desc()
        return [value.is_(None).asc(), ordered]

    def distinct_value(self, key: str) -> ColumnElement[Any]:
        return self._value(key)

    def decode_distinct(self, value: Any) -> Any:
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"
