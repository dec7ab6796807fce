"""Distinct metadata values, structure families and specs among a container's children.

Scalar values of indexed keys are grouped in ``metadata_index`` (an index range scan);
arrays, objects, long strings and keys the index does not hold are grouped from the
JSON. Values are listed in sort order (numbers, strings, false, true, null, arrays,
objects) and only nodes that have the key count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from ..queries import KeyPresent
from . import orm
from .search import key_path
from .search.index import (
    ARRAY,
    FALSE,
    NULL,
    NUMBER,
    OBJECT,
    PREFIX,
    STRING,
    TRUE,
    index_path,
    rank_of,
)

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from .listing import Listing


def distinct_values(
    listing: Listing,
    *,
    metadata_keys: Sequence[str],
    structure_families: bool,
    specs: bool,
    counts: bool,
) -> dict[str, Any]:
    result: dict[str, Any] = {"metadata": {}, "structure_families": None, "specs": None}
    for key in metadata_keys:
        tally = _metadata_values(listing, key)
        result["metadata"][key] = _listed(tally, counts)
    if structure_families:
        rows = _grouped(listing, orm.Node.structure_family)
        result["structure_families"] = _listed([(f, n) for f, n in rows], counts)
    if specs:
        rows = _grouped(listing, orm.Node.specs)
        decode = listing.dialect.decode_distinct
        result["specs"] = _listed([(decode(v), n) for v, n in rows], counts)
    return result


def _listed(tally: list[tuple[Any, int]], counts: bool) -> list[dict[str, Any]]:
    ordered = sorted(tally, key=lambda item: _sort_key(item[0]))
    return [{"value": value, "count": n if counts else None} for value, n in ordered]


def _sort_key(value: Any) -> tuple[int, Any, str]:
    rank = rank_of(value)
    if rank == NUMBER:
        return rank, value, ""
    return rank, 0, value if rank == STRING else repr(value)


def _matching(listing: Listing) -> list[ColumnElement[bool]]:
    return [orm.Node.parent_id == listing.parent_id, *(t.indexed for t in listing.terms)]


def _grouped(listing: Listing, column: Any) -> list[tuple[Any, int]]:
    statement = select(column, func.count()).where(*_matching(listing)).group_by(column)
    return [(value, int(n)) for value, n in listing.conn.execute(statement)]


def _metadata_values(listing: Listing, key: str) -> list[tuple[Any, int]]:
    parts = key_path(key)
    path = index_path(parts)
    dialect = listing.dialect
    value = dialect.distinct_value(parts)
    if path is None:
        present = dialect.json_condition(KeyPresent(key))
        rows = listing.conn.execute(
            select(value, func.count()).where(*_matching(listing), present).group_by(value)
        )
        return _merge((dialect.decode_distinct(v), int(n)) for v, n in rows)
    row = aliased(orm.MetadataIndex)
    scalar = and_(
        row.rank.not_in((ARRAY, OBJECT)),
        or_(row.rank != STRING, func.length(row.txt) < PREFIX),
    )
    kept = _indexed(listing, row, path, scalar)
    grouped = kept.with_only_columns(row.rank, row.num, row.txt, func.count()).group_by(
        row.rank, row.num, row.txt
    )
    rows = listing.conn.execute(grouped)
    tally = [(_decoded(rank, num, txt), int(n)) for rank, num, txt, n in rows]
    # arrays, objects and long strings: group their JSON (the outer query filters)
    others = select(row.node_id).where(
        row.parent_id == listing.parent_id, row.path == path, ~scalar
    )
    json_rows = listing.conn.execute(
        select(value, func.count())
        .where(*_matching(listing), orm.Node.id.in_(others))
        .group_by(value)
    )
    tally += [(dialect.decode_distinct(v), int(n)) for v, n in json_rows]
    return _merge(tally)


def _indexed(listing: Listing, row: Any, path: str, *conditions: Any) -> Select[Any]:
    statement = select(row.node_id).where(
        row.parent_id == listing.parent_id, row.path == path, *conditions
    )
    if listing.terms:
        # correlate_except: nested in a query on nodes, this must not borrow its row
        matching = select(orm.Node.id).where(*_matching(listing)).correlate_except(orm.Node)
        statement = statement.where(row.node_id.in_(matching))
    return statement


def _decoded(rank: int, num: Any, txt: str) -> Any:
    if rank == NUMBER:
        if isinstance(num, Decimal):
            return int(num) if num == num.to_integral_value() else float(num)
        return num
    return {STRING: txt, FALSE: False, TRUE: True, NULL: None}[rank]


def _merge(pairs: Any) -> list[tuple[Any, int]]:
    """Add up counts of equal values (1 and 1.0; objects equal regardless of key order)."""
    merged: dict[str, tuple[Any, int]] = {}
    for value, n in pairs:
        canonical = json.dumps(_canonical(value), sort_keys=True)
        seen, total = merged.get(canonical, (value, 0))
        merged[canonical] = (seen, total + n)
    return list(merged.values())


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value
