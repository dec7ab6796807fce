"""Turning node rows, with their data sources and assets, into NodeRecords in few queries.

The loaders are synchronous functions of a :class:`~sqlalchemy.engine.Connection`, so a
whole read can run in one go: in a worker thread on SQLite (one thread hand-off per
read instead of several per statement, see ``Connections.read``), or through
``AsyncConnection.run_sync`` (the async wrappers here) on PostgreSQL and in writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ..structures.core import Spec, StructureFamily
from ..structures.data_source import Asset, DataSource, Management, structure_from_json
from . import orm
from .records import NodeRecord, split_stored_path


def _child_count() -> Any:
    """From the counts the triggers keep (migration 0002): O(1) for any container size."""
    return (
        select(func.coalesce(func.max(orm.NodeCount.children), 0))
        .where(orm.NodeCount.node_id == orm.Node.id)
        .correlate(orm.Node)
        .scalar_subquery()
    )


_BY_PATH = select(orm.Node, _child_count().label("child_count")).where(
    orm.Node.path == bindparam("path")
)
"""Built once: SQLAlchemy memoises a statement's cache key on the object, and computing
it for these joins costs more than running them on SQLite."""

_SOURCES = (
    select(orm.DataSource, orm.Structure.structure)
    .outerjoin(orm.Structure, orm.Structure.id == orm.DataSource.structure_id)
    .where(orm.DataSource.node_id.in_(bindparam("node_ids", expanding=True)))
    .order_by(orm.DataSource.id)
)
_ASSETS = (
    select(orm.DataSourceAsset, orm.Asset)
    .join(orm.Asset, orm.Asset.id == orm.DataSourceAsset.asset_id)
    .where(orm.DataSourceAsset.data_source_id.in_(bindparam("source_ids", expanding=True)))
    .order_by(orm.DataSourceAsset.parameter, orm.DataSourceAsset.num)
)


async def load_record_at(conn: AsyncConnection, stored_path: str) -> NodeRecord | None:
    """The node whose materialised path is ``stored_path``, or None (the hot lookup)."""
    return await conn.run_sync(record_at, stored_path)


def record_at(conn: Connection, stored_path: str) -> NodeRecord | None:
    """:func:`load_record_at` on a synchronous connection."""
    rows = conn.execute(_BY_PATH, {"path": stored_path}).all()
    records = _records(conn, rows)
    return records[0] if records else None


async def load_records(
    conn: AsyncConnection,
    where: ColumnElement[bool],
    *,
    order_by: Sequence[ColumnElement[Any]] = (),
    offset: int = 0,
    limit: int | None = None,
) -> list[NodeRecord]:
    """Nodes matching ``where``: one query for the nodes, one for all their data sources."""
    return await conn.run_sync(records_where, where, order_by=order_by, offset=offset, limit=limit)


def records_where(
    conn: Connection,
    where: ColumnElement[bool],
    *,
    order_by: Sequence[ColumnElement[Any]] = (),
    offset: int = 0,
    limit: int | None = None,
) -> list[NodeRecord]:
    """:func:`load_records` on a synchronous connection."""
    statement = select(orm.Node, _child_count().label("child_count")).where(where)
    if order_by:
        statement = statement.order_by(*order_by)
    if offset:
        statement = statement.offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    rows = conn.execute(statement).all()
    return _records(conn, rows)


def _records(conn: Connection, rows: Sequence[Any]) -> list[NodeRecord]:
    if not rows:
        return []
    sources = _data_sources(conn, [row.id for row in rows])
    records = []
    for row in rows:
        family = StructureFamily(row.structure_family)
        path = split_stored_path(row.path)
        records.append(
            NodeRecord(
                id=row.id,
                key=row.key,
                ancestors=path[:-1],
                structure_family=family,
                metadata=row.metadata,
                specs=[Spec.from_json(s) for s in row.specs],
                data_sources=sources.get(row.id, []),
                time_created=row.time_created,
                time_updated=row.time_updated,
                child_count=int(row.child_count) if family == StructureFamily.container else None,
            )
        )
    return records


def _data_sources(conn: Connection, node_ids: list[int]) -> dict[int, list[DataSource]]:
    rows = conn.execute(_SOURCES, {"node_ids": node_ids}).all()
    if not rows:
        return {}
    assets: dict[int, list[Asset]] = defaultdict(list)
    asset_rows = conn.execute(_ASSETS, {"source_ids": [r.id for r in rows]})
    for row in asset_rows:
        assets[row.data_source_id].append(
            Asset(
                data_uri=row.data_uri,
                is_directory=row.is_directory,
                parameter=row.parameter,
                num=row.num,
                id=row.asset_id,
                size=row.size,
            )
        )
    result: dict[int, list[DataSource]] = defaultdict(list)
    for row in rows:
        result[row.node_id].append(
            DataSource(
                structure_family=StructureFamily(row.structure_family),
                structure=structure_from_json(row.structure_family, row.structure),
                id=row.id,
                mimetype=row.mimetype,
                parameters=row.parameters,
                properties=row.properties,
                assets=assets.get(row.id, []),
                management=Management(row.management),
            )
        )
    return result
