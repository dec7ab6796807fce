"""SQLite: JSON1 functions for metadata, FTS5 for full text, Python for regular expressions.

Python functions registered on every connection (``register_functions``) give regular
expressions, JSON equality that ignores key order (as PostgreSQL's jsonb does), and the
per-row form of full-text search.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    case,
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
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

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
from ..orm import Node
from . import key_path
from .index import PREFIX

_OPERATORS = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__"}
_NUMBER_TYPES = ("integer", "real")
_MAX_DOCUMENT = 262144  # as in migration 0002
_WORD = re.compile(r"[^\W_]+")

# FTS5 table of migration 0002: rowid is the node id.
nodes_fts = Table("nodes_fts", MetaData(), Column("rowid", Integer), Column("text", Text))


@lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _regexp(pattern: str, value: Any, case_sensitive: int) -> int:
    if not isinstance(value, str):
        return 0
    flags = 0 if case_sensitive else re.IGNORECASE
    return 1 if _compiled(pattern, flags).search(value) else 0


def _strings(value: Any) -> list[str]:
    """String values in document order, as json_tree visits them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _fulltext(metadata: Any, words: str) -> int:
    """The per-row twin of the FTS5 index: all words among the metadata's words."""
    if not isinstance(metadata, str):
        return 0
    document = " ".join(_strings(json.loads(metadata)))[:_MAX_DOCUMENT]
    present = set(_WORD.findall(document.lower()))
    return 1 if all(word in present for word in words.split()) else 0


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _json_equal(a: Any, b: Any) -> int:
    if a is None or b is None:
        return 0
    return 1 if _same(json.loads(a), json.loads(b)) else 0


def register_functions(dbapi_connection: Any) -> None:
    """Called on every new connection (see database.create_engine)."""
    dbapi_connection.create_function("tiled_regexp", 3, _regexp, deterministic=True)
    dbapi_connection.create_function("tiled_fulltext", 2, _fulltext, deterministic=True)
    dbapi_connection.create_function("tiled_json_equal", 2, _json_equal, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _json_path(parts: list[str]) -> str:
    return "$" + "".join("." + json.dumps(part) for part in parts)


def _definite(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """NULL (a missing key) counts as no match, so that NOT keeps its meaning."""
    return case((condition, true()), else_=false())


class SQLiteSearch:
    name = "sqlite"

    def _type(self, key: str) -> ColumnElement[Any]:
        return func.json_type(Node.metadata_, _json_path(key_path(key)))

    def _value(self, key: str) -> ColumnElement[Any]:
        return func.json_extract(Node.metadata_, _json_path(key_path(key)))

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
        expected = "array" if isinstance(value, list) else "object"
        return and_(kind == expected, func.tiled_json_equal(extracted, json.dumps(value)) == 1)

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
            present = self._type(query.key).is_not(None)
            return present if query.exists else not_(present)
        if isinstance(query, Like | Regex):
            return and_(
                self._type(query.key) == "text", self.text_matches(self._value(query.key), query)
            )
        raise TypeError(f"{type(query).__name__} is not a metadata query")

    def text_matches(self, column: Any, query: Query) -> ColumnElement[bool]:
        if isinstance(query, Like):
            matched: ColumnElement[bool] = column.like(query.pattern, escape="\\")
            return matched
        assert isinstance(query, Regex)
        return func.tiled_regexp(query.pattern, column, int(query.case_sensitive)) == 1

    def _compare(self, query: Comparison) -> ColumnElement[bool]:
        kind, extracted = self._type(query.key), self._value(query.key)
        operator = _OPERATORS[query.operator]
        if isinstance(query.value, str):
            return and_(kind == "text", getattr(extracted, operator)(query.value))
        return and_(kind.in_(_NUMBER_TYPES), getattr(extracted, operator)(query.value))

    def _contains(self, key: str, value: Any) -> ColumnElement[bool]:
        items = (
            func.json_each(Node.metadata_, _json_path(key_path(key)))
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
            match = func.tiled_json_equal(items.c.value, json.dumps(value)) == 1
        return and_(
            self._type(key) == "array",
            exists(select(literal(1)).select_from(items).where(match)),
        )

    def containment(self, parts: list[str], value: Any) -> ColumnElement[bool] | None:
        return None  # SQLite has no index over whole JSON documents

    def fulltext(self, words: list[str], *, indexed: bool) -> ColumnElement[bool]:
        if not indexed:
            return func.tiled_fulltext(Node.metadata_, " ".join(words)) == 1
        # Each word quoted: FTS5 then treats it as a term, never as query syntax.
        expression = " ".join(f'"{word}"' for word in words)
        matches = select(nodes_fts.c.rowid).where(literal_column("nodes_fts").match(expression))
        return Node.id.in_(matches)

    # FTS5 knows no containers: checking each match's parent is dearer in bulk
    fulltext_countable = False

    def fulltext_source(self, words: list[str], parent_id: int) -> Select[Any] | None:
        # FTS5 yields its rowids (node ids) in order and stops early under a LIMIT; the
        # container is checked per match (a join would let SQLite drive from nodes).
        expression = " ".join(f'"{word}"' for word in words)
        in_container = exists(
            select(literal(1)).where(Node.parent_id == parent_id, Node.id == nodes_fts.c.rowid)
        )
        return select(nodes_fts.c.rowid.label("node_id")).where(
            literal_column("nodes_fts").match(expression), in_container
        )

    def fulltext_count(self, words: list[str], parent_id: int) -> Select[Any] | None:
        return None  # counting the FTS5 matches through nodes is the way

    def has_spec(self, name: str) -> ColumnElement[bool]:
        specs = func.json_each(Node.specs).table_valued("value").alias("spec")
        return exists(
            select(literal(1))
            .select_from(specs)
            .where(func.json_extract(specs.c.value, "$.name") == name)
        )

    def number(self, value: int | float) -> ColumnElement[Any]:
        return literal(value)

    def decode_number(self, text: str) -> Any:
        try:
            return int(text)
        except ValueError:
            return float(text)

    def sort_parts(self, parts: list[str]) -> tuple[ColumnElement[Any], ...]:
        path = _json_path(parts)
        kind = func.json_type(Node.metadata_, path)
        value = func.json_extract(Node.metadata_, path)
        rank = case(
            (kind.in_(_NUMBER_TYPES), 0),
            (kind == "text", 1),
            (kind == "false", 2),
            (kind == "true", 3),
            (kind == "null", 4),
            (kind == "array", 5),
            (kind == "object", 6),
            else_=None,
        )
        num = case((kind.in_(_NUMBER_TYPES), value), else_=0)
        txt = case((kind == "text", func.substr(value, 1, PREFIX)), else_="")
        return rank, num, txt

    def distinct_value(self, parts: list[str]) -> ColumnElement[Any]:
        return func.json_quote(func.json_extract(Node.metadata_, _json_path(parts)))

    def decode_distinct(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def translate_error(self, error: DBAPIError) -> Exception | None:
        return None
