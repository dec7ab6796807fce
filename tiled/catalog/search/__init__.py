"""Query and sort compilation, one module per dialect behind one small interface."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.sql.elements import ColumnElement

from ...errors import InvalidQueryError
from ...queries import (
    AccessTagsFilter,
    KeyLookup,
    KeysFilter,
    Query,
    SpecsQuery,
    StructureFamilyQuery,
)
from ..orm import Node


class SearchDialect(Protocol):
    """What a dialect module provides to filter and sort nodes by their metadata."""

    def metadata_condition(self, query: Query) -> ColumnElement[bool]: ...
    def has_spec(self, name: str) -> ColumnElement[bool]: ...
    def sort_columns(self, key: str, direction: int) -> list[ColumnElement[Any]]: ...
    def distinct_value(self, key: str) -> ColumnElement[Any]: ...
    def decode_distinct(self, value: Any) -> Any: ...


def dialect_for(name: str) -> SearchDialect:
    if name == "sqlite":
        from . import sqlite

        return sqlite.SQLiteSearch()
    if name == "postgresql":
        from . import postgresql

        return postgresql.PostgreSQLSearch()
    raise InvalidQueryError(f"Search is not implemented for the {name!r} database")


def condition(dialect: SearchDialect, query: Query) -> ColumnElement[bool] | None:
    """The SQL condition of one query; None when it does not restrict (access tags)."""
    if isinstance(query, KeyLookup):
        return Node.key == query.key
    if isinstance(query, KeysFilter):
        return Node.key.in_(query.keys)
    if isinstance(query, StructureFamilyQuery):
        return Node.structure_family == query.value
    if isinstance(query, SpecsQuery):
        from sqlalchemy import and_, not_, true

        parts = [dialect.has_spec(n) for n in query.include]
        parts += [not_(dialect.has_spec(n)) for n in query.exclude]
        return and_(true(), *parts)
    if isinstance(query, AccessTagsFilter):
        return None
    return dialect.metadata_condition(query)


def key_path(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise InvalidQueryError(f"{key!r} is not a dotted metadata key like 'sample.name'")
    return parts
