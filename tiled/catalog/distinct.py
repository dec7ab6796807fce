"""Distinct metadata values, structure families and specs among a container's children."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ..queries import KeyPresent
from . import orm
from .search import SearchDialect


async def distinct_values(
    conn: AsyncConnection,
    dialect: SearchDialect,
    filters: Sequence[ColumnElement[bool]],
    *,
    metadata_keys: Sequence[str],
    structure_families: bool,
    specs: bool,
    counts: bool,
) -> dict[str, Any]:
    result: dict[str, Any] = {"metadata": {}, "structure_families": None, "specs": None}
    for key in metadata_keys:
        value = dialect.distinct_value(key)
        present = dialect.metadata_condition(KeyPresent(key))
        rows = await conn.execute(
            select(value, func.count())
            .select_from(orm.Node)
            .where(*filters, present)
            .group_by(value)
            .order_by(func.count().desc())
        )
        result["metadata"][key] = [
            {"value": dialect.decode_distinct(v), "count": int(n) if counts else None}
            for v, n in rows
        ]
    if structure_families:
        rows = await conn.execute(
            select(orm.Node.structure_family, func.count())
            .where(*filters)
            .group_by(orm.Node.structure_family)
        )
        result["structure_families"] = [
            {"value": family, "count": int(n) if counts else None} for family, n in rows
        ]
    if specs:
        rows = await conn.execute(select(orm.Node.specs).where(*filters))
        tally: dict[str, tuple[list[Any], int]] = {}
        for (value,) in rows:
            canonical = json.dumps(value, sort_keys=True)
            previous = tally.get(canonical, (value, 0))
            tally[canonical] = (value, previous[1] + 1)
        result["specs"] = [
            {"value": value, "count": n if counts else None} for value, n in tally.values()
        ]
    return result
