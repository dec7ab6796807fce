"""SQLite: JSON1 functions for metadata, Python functions for regex and whole-word text."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, exists, false, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

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
_NUMBER_TYPES = ("integer", "real")


@lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _regexp(pattern: str, value: Any, case_sensitive: int) -> int:
    if not isinstance(value, str):
        return 0
    flags = 0 if case_sensitive else re.IGNORECASE
    return 1 if _compiled(pattern, flags).search(value) else 0


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _fulltext(value: Any, text: str) -> int:
    if not isinstance(value, str):
        return 0
    present = set(_words(value))
    return 1 if all(word in present for word in _words(text)) else 0


def register_functions(dbapi_connection: Any) -> None:
    """Called on every new connection (see database.create_engine)."""
    dbapi_connection.create_function("tiled_regexp", 3, _regexp, deterministic=True)
    dbapi_connection.create_function("tiled_fulltext", 2, _fulltext, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _json_path(key: str) -> str:
    return "$" + "".join("." + json.dumps(part) for part in key_path(key))


class SQLiteSearch:
    def _type(self, key: str) -> ColumnElement[Any]:
        return func.json_type(Node.metadata_, _json_path(key))

    def _value(self, key: str) -> ColumnElement[Any]:
        return func.json_extract(Node.metadata_, _json_path(key))

    def _equals(self, key: str, value: Any) -> ColumnElement[bool]:
        kind, extracted = self._type(key), self._value(key)
        if value is None:
            return kind == "null"
        if isinstance(value, bool):
            return kind == ("true" if value else "false")
        if isinstance(value, int | float):
            return and_(kind.in_(_NUMBER_TYPES), extracted == value)
        if isinstance(value, str):
            return and_(kind == "text", extracted == value)
        if isinstance(value, list | dict):
            return and_(
                kind.in_(("array", "object")),
                func.json(extracted) == func.json(literal(json.dumps(value))),
            )
        raise InvalidQueryError(f"Cannot compare metadata with {value!r}")

    def metadata_condition(self, query: Query) -> ColumnElement[bool]:
        if isinstance(query, Eq):
            return self._equals(query.key, query.value)
        if isinstance(query, NotEq):
            return or_(self._type(query.key).is_(None), not_(self._equals(query.key, query.value)))
        if isinstance(query, NotIn):
            return or_(self._type(query.key).is_(None), not_(self._in(query.key, query.value)))
        if isinstance(query, In):
            return self._in(query.key, query.value)
        if isinstance(query, Comparison):
            return self._compare(query)
        if isinstance(query, Contains):
            return self._contains(query.key, query.value)
        if isinstance(query, KeyPresent):
            present = self._type(query.key).is_not(None)
            return present if query.exists else not_(present)
        if isinstance(query, Like):
            return and_(self._type(query.key) == "text", self._value(query.key).like(query.pattern))
        if isinstance(query, Regex):
            return and_(
                self._type(query.key) == "text",
                func.tiled_regexp(query.pattern, self._value(query.key), int(query.case_sensitive))
                == 1,
            )
        if isinstance(query, FullText):
            tree = func.json_tree(Node.metadata_).table_valued("type", "value").alias("words")
            return exists(
                select(literal(1))
                .select_from(tree)
                .where(tree.c.type == "text", func.tiled_fulltext(tree.c.value, query.text) == 1)
            )
        raise InvalidQueryError(f"The query type {type(query).__name__!r} is not supported")

    def _in(self, key: str, values: list[Any]) -> ColumnElement[bool]:
        if not values:
            return false()
        return or_(*(self._equals(key, v) for v in values))

    def _compare(self, query: Comparison) -> ColumnElement[bool]:
        kind, extracted = self._type(query.key), self._value(query.key)
        operator = _OPERATORS[query.operator]
        if isinstance(query.value, str):
            return and_(kind == "text", getattr(extracted, operator)(query.value))
        return and_(kind.in_(_NUMBER_TYPES), getattr(extracted, operator)(query.value))

    def _contains(self, key: str, value: Any) -> ColumnElement[bool]:
        items = (
            func.json_each(Node.metadata_, _json_path(key))
            .table_valued("type", "value", "atom")
            .alias("items")
        )
        if isinstance(value, bool):
            match = items.c.type == ("true" if value else "false")
        elif value is None:
            match = items.c.type == "null"
        elif isinstance(value, int | float):
            match = and_(items.c.type.in_(_NUMBER_TYPES), items.c.atom == value)
        elif isinstance(value, str):
            match = and_(items.c.type == "text", items.c.atom == value)
        else:
            match = func.json(items.c.value) == func.json(literal(json.dumps(value)))
        return and_(
            self._type(key) == "array",
            exists(select(literal(1)).select_from(items).where(match)),
        )

    def has_spec(self, name: str) -> ColumnElement[bool]:
        specs = func.json_each(Node.specs).table_valued("value").alias("spec")
        return exists(
            select(literal(1))
            .select_from(specs)
            .where(func.json_extract(specs.c.value, "$.name") == name)
        )

    def sort_columns(self, key: str, direction: int) -> list[ColumnElement[Any]]:
        value = self._value(key)
        ordered = value.asc() if direction > 0 else value.desc()
        return [value.is_(None).asc(), ordered]  # missing values last either way

    def distinct_value(self, key: str) -> ColumnElement[Any]:
        return func.json_quote(self._value(key))

    def decode_distinct(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value
