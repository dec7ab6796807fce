"""Queries compiled into conditions on the children of one container.

Each query becomes a ``Term`` with two equivalent forms:

* ``indexed``: uses an index (``metadata_index``, full text, the keys) to find the
  matches; cheap when they are few;
* ``scan``: a test of one row (its JSON), cheap when walking an index in the listing's
  order and most rows match.

``source``, when set, selects exactly one row per matching node from an index, so a
lone term can be counted without touching ``nodes``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, false, not_, or_, true

from ...queries import (
    AccessTagsFilter,
    Comparison,
    Contains,
    Eq,
    FullText,
    In,
    KeyLookup,
    KeyPresent,
    KeysFilter,
    Like,
    NotEq,
    NotIn,
    Query,
    Regex,
    SpecsQuery,
    StructureFamilyQuery,
)
from ..orm import Node
from . import SearchDialect, key_path
from .index import (
    ELEMENT,
    PREFIX,
    SPEC_PATH,
    IndexLookup,
    index_path,
    like_prefix,
    prefix_upper_bound,
)

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class Term:
    indexed: ColumnElement[bool]
    scan: ColumnElement[bool]
    source: Select[Any] | None = None
    ordered: bool = False  # the source's index yields node ids in order (either way)
    countable: bool = True  # counting the source beats counting through nodes
    counter: Select[Any] | None = None  # the count of the matches, alone, if cheaper still

    def negated(self) -> Term:
        return Term(not_(self.indexed), not_(self.scan))


def compile_terms(dialect: SearchDialect, parent_id: int, queries: Sequence[Query]) -> list[Term]:
    """Terms that AND together: one per query, except that comparisons of one key with
    values of one type merge into one range (``a <= x < b`` is one index range scan,
    not the intersection of two half-open ones)."""
    compiler = _Compiler(dialect, parent_id)
    ranges: dict[tuple[str, bool], list[Comparison]] = {}
    for query in queries:
        if isinstance(query, Comparison):
            ranges.setdefault((query.key, isinstance(query.value, str)), []).append(query)
    terms: list[Term | None] = []
    for query in queries:
        if not isinstance(query, Comparison):
            terms.append(compiler.term(query))
            continue
        group = ranges.get((query.key, isinstance(query.value, str)))
        if group and group[0] is query:
            terms.append(compiler.range(group))
    return [t for t in terms if t is not None]


class _Compiler:
    def __init__(self, dialect: SearchDialect, parent_id: int) -> None:
        self.dialect = dialect
        self.parent_id = parent_id

    def term(self, query: Query) -> Term | None:
        handler = self._HANDLERS.get(type(query))
        if handler is None:  # every query type of tiled.queries has a handler
            raise TypeError(f"No compilation for {type(query).__name__}")
        return handler(self, query)

    # -- node columns ---------------------------------------------------------------------

    def _lookup(self, query: KeyLookup) -> Term:
        condition = Node.key == query.key
        return Term(condition, condition)

    def _keys(self, query: KeysFilter) -> Term:
        condition = Node.key.in_(query.keys) if query.keys else false()
        return Term(condition, condition)

    def _family(self, query: StructureFamilyQuery) -> Term:
        condition = Node.structure_family == query.value
        return Term(condition, condition)

    def _access_tags(self, query: AccessTagsFilter) -> None:
        return None  # single-user catalogs carry no access tags to filter on

    def _fulltext(self, query: FullText) -> Term:
        words = query.words
        source = self.dialect.fulltext_source(words, self.parent_id)
        return Term(
            self.dialect.fulltext(words, indexed=True),
            self.dialect.fulltext(words, indexed=False),
            source,
            ordered=source is not None,
            countable=self.dialect.fulltext_countable,
            counter=self.dialect.fulltext_count(words, self.parent_id),
        )

    def _specs(self, query: SpecsQuery) -> Term | None:
        terms = [self._spec(name) for name in query.include]
        terms += [self._spec(name).negated() for name in query.exclude]
        return _all(terms)

    def _spec(self, name: str) -> Term:
        lookup = IndexLookup(self.dialect, self.parent_id, SPEC_PATH)
        match, exact = lookup.value(name, ELEMENT)
        exact_check = self.dialect.has_spec(name)
        return self._from_index(lookup.select(match), exact, exact_check, ordered=True)

    # -- metadata ---------------------------------------------------------------------------

    def _from_index(
        self, selected: Select[Any], exact: bool, check: ColumnElement[bool], ordered: bool = False
    ) -> Term:
        """A term from index candidates, rechecked against the JSON when inexact.

        ``ordered``: one value was looked up, so the index holds its nodes by id.
        """
        indexed = Node.id.in_(selected)
        if exact:
            return Term(indexed, check, selected, ordered)
        return Term(and_(indexed, check), check)

    def _json_only(self, query: Query, prefilter: ColumnElement[bool] | None = None) -> Term:
        check = self.dialect.json_condition(query)
        return Term(check if prefilter is None else and_(prefilter, check), check)

    def _lookup_for(
        self, key: str, *, elements: bool = False
    ) -> tuple[list[str], IndexLookup | None]:
        parts = key_path(key)
        path = index_path(parts, elements=elements)
        return parts, None if path is None else IndexLookup(self.dialect, self.parent_id, path)

    def _eq(self, query: Eq) -> Term:
        parts, lookup = self._lookup_for(query.key)
        if lookup is None:
            return self._json_only(query, self.dialect.containment(parts, query.value))
        match, exact = lookup.value(query.value)
        check = self.dialect.json_condition(query)
        return self._from_index(lookup.select(match), exact, check, ordered=True)

    def _in(self, query: In) -> Term:
        if not query.value:
            return Term(false(), false())
        _parts, lookup = self._lookup_for(query.key)
        if lookup is None:
            return self._json_only(query)
        matches = [lookup.value(v) for v in query.value]
        exact = all(e for _, e in matches)
        return self._from_index(
            lookup.select(or_(*(m for m, _ in matches))), exact, self.dialect.json_condition(query)
        )

    def _not(self, positive: Callable[[_Compiler, Any], Term], query: NotEq | NotIn) -> Term:
        """NotEq and NotIn match every node the positive query does not, missing keys too."""
        opposite = (
            Eq(query.key, query.value) if isinstance(query, NotEq) else In(query.key, query.value)
        )
        return positive(self, opposite).negated()

    def range(self, comparisons: list[Comparison]) -> Term:
        """Comparisons of one key with values of one type, as one range of the index."""
        _, lookup = self._lookup_for(comparisons[0].key)
        check = and_(*(self.dialect.json_condition(c) for c in comparisons))
        if lookup is None:
            return Term(check, check)
        bounds = [lookup.compare(c.operator, c.value) for c in comparisons]
        exact = all(e for _, e in bounds)
        return self._from_index(lookup.select(*(b for b, _ in bounds)), exact, check)

    def _contains(self, query: Contains) -> Term:
        parts, lookup = self._lookup_for(query.key, elements=True)
        if lookup is None or isinstance(query.value, list | dict):
            prefilter = self.dialect.containment(parts, [query.value])
            return self._json_only(query, prefilter)
        match, exact = lookup.value(query.value, ELEMENT)
        check = self.dialect.json_condition(query)
        return self._from_index(lookup.select(match), exact, check, ordered=True)

    def _present(self, query: KeyPresent) -> Term:
        _, lookup = self._lookup_for(query.key)
        if lookup is None:
            term = self._json_only(KeyPresent(query.key))
        else:
            selected = lookup.select()  # the key's range holds one row per node having it
            term = Term(
                Node.id.in_(selected), self.dialect.json_condition(KeyPresent(query.key)), selected
            )
        return term if query.exists else term.negated()

    def _text(self, query: Like | Regex) -> Term:
        """Strings stored whole are matched in the index; longer ones against the JSON."""
        _, lookup = self._lookup_for(query.key)
        check = self.dialect.json_condition(query)
        if lookup is None:
            return self._json_only(query)
        row = lookup.row
        bounds: list[ColumnElement[bool]] = [row.rank == 1, row.num == 0]
        if isinstance(query, Like):
            prefix = like_prefix(query.pattern)
            if prefix:
                upper = prefix_upper_bound(prefix)
                bounds += [row.txt >= prefix] + ([row.txt < upper] if upper else [])
        whole = and_(
            *bounds, _shorter_than_prefix(row.txt), self.dialect.text_matches(row.txt, query)
        )
        long = and_(*bounds, not_(_shorter_than_prefix(row.txt)))
        indexed = or_(
            Node.id.in_(lookup.select(whole)), and_(Node.id.in_(lookup.select(long)), check)
        )
        return Term(indexed, check)

    _HANDLERS: dict[type, Callable[[_Compiler, Any], Term | None]] = {}


def _shorter_than_prefix(column: Any) -> ColumnElement[bool]:
    from sqlalchemy import func

    return func.length(column) < PREFIX


def _all(terms: list[Term]) -> Term | None:
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    return Term(and_(true(), *(t.indexed for t in terms)), and_(true(), *(t.scan for t in terms)))


_Compiler._HANDLERS.update(
    {
        KeyLookup: _Compiler._lookup,
        KeysFilter: _Compiler._keys,
        StructureFamilyQuery: _Compiler._family,
        AccessTagsFilter: _Compiler._access_tags,
        FullText: _Compiler._fulltext,
        SpecsQuery: _Compiler._specs,
        Eq: _Compiler._eq,
        NotEq: lambda c, q: c._not(_Compiler._eq, q),
        In: _Compiler._in,
        NotIn: lambda c, q: c._not(_Compiler._in, q),
        Comparison: lambda c, query: c.range([query]),
        Contains: _Compiler._contains,
        KeyPresent: _Compiler._present,
        Like: _Compiler._text,
        Regex: _Compiler._text,
    }
)
