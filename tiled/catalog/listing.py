"""Listing the children of a container: exact counts, and pages that stay fast deep down.

A page is found in two steps: a narrow query returns the ids (and sort values) of the
page's rows, then ``load_records`` loads just those. The narrow query follows one of
three plans:

* default order: the ``(parent_id, id)`` index;
* one indexable sort key: ``metadata_index`` in ``(rank, num, txt, node_id)`` order for
  the nodes that have the key (phase 0), then the nodes lacking it (phase 1);
* anything else (several keys, a key the index does not hold): a sort of the matches.

With filters, each plan either *walks* its order and tests each row (``Term.scan``),
when matches are common, or *materialises* the matches through the indexes
(``Term.indexed``) and sorts them, when they are rare; the exact count, which the
listing computes anyway, decides. A cursor resumes a walk with an index seek, so page
10,000 costs what page 1 costs; ``page[offset]`` skips rows in the narrow query.

Synchronous, on a synchronous connection: a whole listing runs in one go through
``Connections.read`` (one thread hand-off on SQLite, see ``connections.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, literal, not_, select
from sqlalchemy.orm import aliased

from . import orm
from .search.ordering import (
    Column,
    Cursor,
    Ordering,
    SortKey,
    after,
    decode_cursor,
    encode_cursor,
    ordered,
)
from .search.terms import compile_terms

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.elements import ColumnElement

    from ..queries import Query
    from .records import NodeRecord
    from .search import SearchDialect
    from .search.terms import Term


@dataclass(frozen=True)
class SearchPage:
    """One page of a listing: records in order, the exact count, the next page's cursor."""

    records: list[NodeRecord]
    count: int
    next_cursor: str | None


@dataclass(frozen=True)
class _Read:
    columns: list[Column]
    source: Select[Any]  # FROM/WHERE, without the filters' conditions unless ``filtered``
    filtered: bool = False  # the source applies the filters itself


class _Phase:
    """One stretch of the order, read by walking an index in order (``walk``) or by
    finding the matches through the filters' indexes and sorting them (``sort``).

    The SQL of each is built only if used: building it is a good part of a request.
    """

    def __init__(
        self,
        kinds: list[str],
        sort: Callable[[], _Read],
        walk: Callable[[], _Read] | None,
        walk_cost: int,
    ) -> None:
        self.kinds = kinds  # how a cursor stores each order column
        self._sort = sort
        self._walk = walk
        self.walk_cost = walk_cost  # a walked row's cost relative to a sorted match's

    @property
    def can_walk(self) -> bool:
        return self._walk is not None

    @functools.cached_property
    def sort(self) -> _Read:
        return self._sort()

    @functools.cached_property
    def walk(self) -> _Read | None:
        return self._walk() if self._walk is not None else None


class Listing:
    """Count and page the children of one container that match ``queries``."""

    def __init__(
        self,
        conn: Connection,
        dialect: SearchDialect,
        parent_id: int,
        queries: Sequence[Query],
        sorting: Sequence[tuple[str, int]],
        *,
        total: int | None = None,
    ) -> None:
        self.conn = conn
        self._total = total
        self.dialect = dialect
        self.parent_id = parent_id
        self.terms = compile_terms(dialect, parent_id, queries)
        self.ordering = Ordering.parse(sorting)
        self.phases = self._phases()
        self._sizes: dict[int, int] = {}

    # -- counting -----------------------------------------------------------------------

    def total(self) -> int:
        """All children, from the count the triggers maintain."""
        if self._total is None:
            statement = select(orm.NodeCount.children).where(
                orm.NodeCount.node_id == self.parent_id
            )
            self._total = int((self.conn.execute(statement)).scalar() or 0)
        return self._total

    def count(self) -> int:
        """The exact number of matches."""
        return self._count(self.terms)

    def _count(self, terms: Sequence[Term], extra: Sequence[Any] = ()) -> int:
        if not terms and not extra:
            return self.total()
        if len(terms) == 1 and not extra and terms[0].counter is not None:
            statement = terms[0].counter
        elif len(terms) == 1 and not extra and terms[0].source is not None and terms[0].countable:
            statement = select(func.count()).select_from(terms[0].source.subquery())
        else:
            statement = (
                select(func.count())
                .select_from(orm.Node)
                .where(orm.Node.parent_id == self.parent_id, *(t.indexed for t in terms), *extra)
            )
        return int((self.conn.execute(statement)).scalar_one())

    def _size(self, index: int, count: int) -> int:
        """Matches in phase ``index`` (only single-key sorts have two phases)."""
        if index not in self._sizes:
            sort_key = self.ordering.single_indexed
            if sort_key is None:
                self._sizes[index] = count
            else:
                having = self._having(sort_key)
                self._sizes[index] = having if index == 0 else count - having
        return self._sizes[index]

    def _having(self, sort_key: SortKey) -> int:
        if not self.terms:  # kept by the triggers
            statement = select(orm.KeyCount.nodes).where(
                orm.KeyCount.parent_id == self.parent_id, orm.KeyCount.path == sort_key.path
            )
            return int((self.conn.execute(statement)).scalar() or 0)
        return self._count(self.terms, [self._has_key(sort_key)])

    # -- paging -------------------------------------------------------------------------

    def page(
        self, *, limit: int, offset: int = 0, cursor: str | None = None, count: int | None = None
    ) -> tuple[list[int], str | None]:
        """Ids of one page in order, and the cursor of the next page (None at the end)."""
        if count is None:
            count = self.count()
        if count == 0 or limit == 0:
            return [], None
        resume = self._decode(cursor) if cursor else None
        total = self.total()
        wanted = limit + 1
        rows: list[tuple[int, Any]] = []
        for index in range(resume.phase if resume else 0, len(self.phases)):
            # phase 0 is estimated by the whole count; later phases are counted exactly
            # (the triggers' key counts make that free without filters), and skipped
            # when empty: finding that out by querying would scan the container.
            matches = count if index == 0 else self._size(index, count)
            if matches == 0:
                continue
            phase = self.phases[index]
            seek = resume.values if resume and index == resume.phase else None
            walk = _walk(phase, matches, total, offset + wanted)
            found = self._run(phase, seek, offset, wanted - len(rows), walk)
            # an offset past this phase carries over, less the rows the phase holds
            skipped = self._size(index, count) if offset and not found else offset
            offset -= min(offset, skipped)
            rows += [(index, row) for row in found]
            if len(rows) >= wanted:
                break
        following = None
        if len(rows) > limit:
            index, row = rows[limit - 1]
            following = encode_cursor(self.ordering, index, self.phases[index].kinds, row)
        return [row[-1] for _, row in rows[:limit]], following

    def _decode(self, token: str) -> Cursor:
        kinds = [phase.kinds for phase in self.phases]
        return decode_cursor(token, self.ordering, kinds, self.dialect)

    def _run(
        self, phase: _Phase, seek: list[Any] | None, offset: int, limit: int, walk: bool
    ) -> list[Any]:
        read = phase.walk if walk and phase.walk is not None else phase.sort
        conditions = [] if read.filtered else [t.scan if walk else t.indexed for t in self.terms]
        if seek is not None:
            conditions.append(after(read.columns, seek))
        in_order = walk or (read.filtered and self.terms[0].ordered)
        order = ordered(read.columns) if in_order else _unindexed(read.columns)
        statement = read.source.where(*conditions).order_by(*order).limit(limit)
        if offset:
            statement = statement.offset(offset)
        return list((self.conn.execute(statement)).all())

    # -- plans --------------------------------------------------------------------------

    def _phases(self) -> list[_Phase]:
        sort_key = self.ordering.single_indexed
        if sort_key is not None:
            return [self._by_index(sort_key), self._lacking(sort_key)]
        if self.ordering.keys:
            keys = self.ordering.keys
            kinds = ["int", "int", "num", "text"] * len(keys) + ["int"]
            return [_Phase(kinds, lambda: self._by_json(keys), None, 0)]
        if len(self.terms) == 1 and self.terms[0].source is not None:
            # an ordered source is as good as a walk, without testing rows
            walk = None if self.terms[0].ordered else self._default
            return [_Phase(["int"], self._from_source, walk, _WALK_ROW_COST)]
        return [_Phase(["int"], self._default, self._default, _WALK_ROW_COST)]

    def _from_source(self) -> _Read:
        """One filter that an index answers alone (already restricted to this container):
        its node ids in order, without visiting ``nodes`` at all; for an equality the
        index even holds them in order."""
        source = self.terms[0].source
        assert source is not None
        matches = source.subquery()
        column = Column(matches.c.node_id, self.ordering.tie, "int")
        return _Read([column], select(matches.c.node_id), filtered=True)

    def _default(self, *extra: ColumnElement[bool]) -> _Read:
        node = orm.Node
        columns = [Column(node.id, self.ordering.tie, "int")]
        return _Read(columns, select(node.id).where(node.parent_id == self.parent_id, *extra))

    def _has_key(self, sort_key: SortKey) -> ColumnElement[bool]:
        row = aliased(orm.MetadataIndex)
        having = select(row.node_id).where(
            row.parent_id == self.parent_id, row.path == sort_key.path
        )
        return orm.Node.id.in_(having)

    def _by_index(self, sort_key: SortKey) -> _Phase:
        """Nodes having the key: walked in ``metadata_index`` order, or sorted by JSON."""

        def walk() -> _Read:
            row = aliased(orm.MetadataIndex)
            direction = sort_key.direction
            columns = [
                Column(row.rank, direction, "int"),
                Column(row.num, direction, "num"),
                Column(row.txt, direction, "text"),
                Column(row.node_id, self.ordering.tie, "int"),
            ]
            # The key's range of the index is exactly its values in order: no bound on
            # rank, so that a cursor's row-value bound is the seek. Nodes join only for
            # filters.
            source: Any = select(row.rank, row.num, row.txt, row.node_id).where(
                row.parent_id == self.parent_id, row.path == sort_key.path
            )
            if self.terms:
                source = source.join(orm.Node, orm.Node.id == row.node_id)
            return _Read(columns, source)

        def sort() -> _Read:
            rank = self.dialect.sort_parts(sort_key.parts)[0]
            return self._by_json([sort_key], rank.is_not(None), with_missing=False)

        return _Phase(["int", "num", "text", "int"], sort, walk, 1)

    def _lacking(self, sort_key: SortKey) -> _Phase:
        """Nodes lacking the key, in default order."""

        def walk() -> _Read:
            return self._default(self.dialect.sort_parts(sort_key.parts)[0].is_(None))

        def sort() -> _Read:
            return self._default(not_(self._has_key(sort_key)))

        return _Phase(["int"], sort, walk, _WALK_ROW_COST)

    def _by_json(
        self,
        keys: Sequence[SortKey],
        *extra: ColumnElement[bool],
        with_missing: bool = True,
    ) -> _Read:
        columns: list[Column] = []
        for sort_key in keys:
            rank, num, txt = self.dialect.sort_parts(sort_key.parts)
            direction = sort_key.direction
            if with_missing:
                columns.append(Column(case((rank.is_(None), 1), else_=0), 1, "int"))
            columns += [
                Column(func.coalesce(rank, 0), direction, "int"),
                Column(num, direction, "num"),
                Column(txt, direction, "text"),
            ]
        columns.append(Column(orm.Node.id, self.ordering.tie, "int"))
        source = select(*(c.expression for c in columns)).where(
            orm.Node.parent_id == self.parent_id, *extra
        )
        return _Read(columns, source)


# A walk tests about (rows wanted) x (total / matches) rows; sorting reads each match.
_WALK_ROW_COST = 5  # a JSON test per walked row against an index entry per sorted match


def _walk(phase: _Phase, matches: int, total: int, reach: int) -> bool:
    if not phase.can_walk:
        return False
    return matches >= total or phase.walk_cost * reach * total < matches * matches


def _unindexed(columns: Sequence[Column]) -> list[Any]:
    """The same order, written so that no index can supply it: the planner then finds
    the (few) matches through the filters' indexes and sorts them, instead of walking
    the whole order testing each row."""
    disguised: list[Any] = []
    for column in columns:
        expression = column.expression
        if column.kind == "text":
            expression = func.coalesce(expression, literal(""))
        else:
            expression = expression + 0
        disguised.append(expression.asc() if column.direction > 0 else expression.desc())
    return disguised
