"""Query compilation and ordering, with one module per dialect behind one protocol.

``terms.compile_terms`` turns queries into SQL conditions on ``nodes`` (each both as an
index lookup and as a per-row test, so the listing can pick the cheaper plan);
``ordering`` turns ``sort`` into ORDER BY columns and keyset cursors. The semantics are
documented in ``docs/search.md``; SQLite and PostgreSQL give the same answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ...errors import InvalidQueryError

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.sql.elements import ColumnElement

    from ...queries import Query


class SearchDialect(Protocol):
    """What differs between SQLite and PostgreSQL when searching metadata."""

    name: str

    def json_condition(self, query: Query) -> ColumnElement[bool]:
        """The query evaluated on each row's JSON (exact; no index)."""

    def containment(self, parts: list[str], value: Any) -> ColumnElement[bool] | None:
        """An indexed pre-filter for ``value`` at ``parts`` (PostgreSQL GIN), if any."""

    fulltext_countable: bool  # counting ``fulltext_source`` beats counting through nodes

    def fulltext(self, words: list[str], *, indexed: bool) -> ColumnElement[bool]: ...

    def fulltext_source(self, words: list[str], parent_id: int) -> Select[Any] | None:
        """Matching children's ids, one each, in id order from the index, if it can."""

    def fulltext_count(self, words: list[str], parent_id: int) -> Select[Any] | None:
        """The number of matching children, cheaper than counting ``fulltext_source``,
        if it can."""

    def has_spec(self, name: str) -> ColumnElement[bool]: ...

    def number(self, value: int | float) -> ColumnElement[Any]:
        """A bound number comparable with ``metadata_index.num``, exactly."""

    def decode_number(self, text: str) -> Any:
        """The inverse of ``str`` on a value read from ``metadata_index.num``."""

    def text_matches(self, column: Any, query: Query) -> ColumnElement[bool]:
        """LIKE or regular-expression match of a text column (``Like``/``Regex``)."""

    def sort_parts(self, parts: list[str]) -> tuple[ColumnElement[Any], ...]:
        """(rank, num, txt) of the value at ``parts``, from the JSON; rank NULL if absent."""

    def distinct_value(self, parts: list[str]) -> ColumnElement[Any]:
        """The JSON value at ``parts`` in a form GROUP BY can group (NULL if absent)."""

    def decode_distinct(self, value: Any) -> Any: ...

    def translate_error(self, error: DBAPIError) -> Exception | None:
        """A domain error for a database error caused by the query, if it is one."""


def dialect_for(name: str) -> SearchDialect:
    if name == "sqlite":
        from . import sqlite

        return sqlite.SQLiteSearch()
    if name == "postgresql":
        from . import postgresql

        return postgresql.PostgreSQLSearch()
    raise InvalidQueryError(f"Search is not implemented for the {name!r} database")


def key_path(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise InvalidQueryError(f"{key!r} is not a dotted metadata key like 'sample.name'")
    return parts
