"""Many node writes in one transaction, and the fingerprints of a subtree: what indexing
needs from the catalog (``Catalog.apply`` and ``Catalog.registered_under``).

``apply`` first *plans* the whole batch in Python against the state of every path it
touches (``bulk_plan.py``): bad keys, missing parents, taken keys and removed nodes are
refused there, in order, before any SQL runs. The accepted changes then run as
few statements as possible: consecutive puts become one executemany per table (nodes,
structures, data sources, assets, links), so PostgreSQL's statement-level search
triggers fire once per table per segment. On SQLite the search rows of the nodes
written are computed in Python while planning and inserted in a few more executemany,
with the row-by-row search triggers standing aside (``search/bulk_sqlite.py``). Each
segment runs in a SAVEPOINT; if the database refuses it anyway (a concurrent writer took
a key), the segment is replayed one change per SAVEPOINT so that only the change at
fault fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, bindparam, delete, func, insert, or_, select, text, type_coerce, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..registration.model import Change, Outcome
from ..structures.core import StructureFamily
from . import orm
from .bulk_plan import PutOp, RemoveOp, accept, plan, refuse
from .connections import unavailable_reason
from .records import structure_id
from .search import bulk_sqlite
from .search.rows import parse_stored
from .subtree import IN_CHUNK as _IN_CHUNK
from .subtree import chunks as _chunks
from .subtree import delete_orphan_assets, subtree

_REMOVE_CHUNK = 100  # subtrees per DELETE


# -- executing a planned batch (bulk_plan.py) ------------------------------------------


def _dialect_insert(conn: AsyncConnection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


async def _insert_with_ids(
    conn: AsyncConnection, table: Any, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` in one executemany; their new ids, in order.

    PostgreSQL returns them from a multi-row INSERT ... RETURNING. SQLite cannot promise
    RETURNING's order for many rows (SQLAlchemy would send one INSERT per row), but this
    transaction holds SQLite's write lock (BEGIN IMMEDIATE): ids after the current
    maximum are ours to give.
    """
    if conn.dialect.name == "postgresql":
        result = await conn.execute(
            insert(table).returning(table.id, sort_by_parameter_order=True), rows
        )
        return [int(i) for i in result.scalars().all()]
    start = (await conn.execute(select(func.coalesce(func.max(table.id), 0)))).scalar_one()
    ids = list(range(int(start) + 1, int(start) + 1 + len(rows)))
    await conn.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


def _family(op: PutOp) -> str:
    return StructureFamily(op.put.entry.structure_family).value


async def _update_nodes(conn: AsyncConnection, ops: Sequence[PutOp], now: datetime) -> None:
    """New family, metadata and specs for replaced nodes, in place.

    Metadata and specs are written only where they differ: an unchanged value would
    still make the search triggers remove and re-add every index row of the node. On
    SQLite the stored JSON is read as text, so that the old search rows are recomputed
    from exactly what the triggers would read.
    """
    sqlite = conn.dialect.name == "sqlite"
    old: dict[int, tuple[Any, Any]] = {}
    raw: dict[int, tuple[str, str]] = {}
    for chunk in _chunks([op.slot.id for op in ops], _IN_CHUNK):
        if sqlite:
            columns = (type_coerce(orm.Node.metadata_, Text), type_coerce(orm.Node.specs, Text))
            rows = await conn.execute(select(orm.Node.id, *columns).where(orm.Node.id.in_(chunk)))
            for node_id, metadata, specs in rows:
                raw[node_id] = (metadata, specs)
                old[node_id] = (json.loads(metadata), json.loads(specs))
            continue
        rows = await conn.execute(
            select(orm.Node.id, orm.Node.metadata_, orm.Node.specs).where(orm.Node.id.in_(chunk))
        )
        old.update({row[0]: (row[1], row[2]) for row in rows})
    changed, same = [], []
    reindexed = []
    for op in ops:
        specs = [s.to_json() for s in op.put.entry.specs]
        row = {"node_id": op.slot.id, "family": _family(op), "now": now}
        if old.get(op.slot.id) == (op.metadata, specs):
            same.append(row)
        else:
            changed.append({**row, "metadata": op.metadata, "specs": specs})
            if op.search is not None and op.slot.id in raw:
                metadata, old_specs = raw[op.slot.id]
                before = bulk_sqlite.SearchRows(parse_stored(metadata), json.loads(old_specs))
                reindexed.append((op.slot.id, op.parent.id, before, op.search))
    if conn.dialect.name == "postgresql":
        # One statement, not one per row: the search triggers fire once per statement.
        await _update_nodes_postgresql(conn, changed, same, now)
        return
    by_id = orm.Node.id == bindparam("node_id")
    values: dict[str, Any] = {
        "structure_family": bindparam("family"),
        "time_updated": bindparam("now"),
    }
    if same:
        await conn.execute(update(orm.Node).where(by_id).values(**values), same)
    if changed:
        values.update(metadata_=bindparam("metadata"), specs=bindparam("specs"))
        await conn.execute(update(orm.Node).where(by_id).values(**values), changed)
    await bulk_sqlite.replace(conn, reindexed)


async def _update_nodes_postgresql(
    conn: AsyncConnection, changed: list[dict[str, Any]], same: list[dict[str, Any]], now: datetime
) -> None:
    if same:
        await conn.execute(
            text(
                "UPDATE nodes SET structure_family = v.family, time_updated = :now "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:families AS text[])) "
                "AS v(id, family) WHERE nodes.id = v.id"
            ),
            {
                "ids": [r["node_id"] for r in same],
                "families": [r["family"] for r in same],
                "now": now,
            },
        )
    if changed:
        await conn.execute(
            text(
                "UPDATE nodes SET structure_family = v.family, metadata = v.metadata::jsonb, "
                "specs = v.specs::jsonb, time_updated = :now "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:families AS text[]), "
                "CAST(:metadata AS text[]), CAST(:specs AS text[])) "
                "AS v(id, family, metadata, specs) WHERE nodes.id = v.id"
            ),
            {
                "ids": [r["node_id"] for r in changed],
                "families": [r["family"] for r in changed],
                "metadata": [json.dumps(r["metadata"]) for r in changed],
                "specs": [json.dumps(r["specs"]) for r in changed],
                "now": now,
            },
        )


async def _insert_nodes(
    conn: AsyncConnection, creating: list[PutOp], refused: list[tuple[PutOp, str]]
) -> list[PutOp]:
    """Insert new nodes level by level (a parent created here gets its id only when
    inserted); returns those inserted, adds the others to ``refused``."""
    inserted: list[PutOp] = []
    pending = creating
    while pending:
        ready = [op for op in pending if op.parent.id is not None]
        if not ready:
            for op in pending:
                op.slot.failed = True
                refused.append((op, f"Cannot create /{op.path}: its parent failed"))
            break
        node_ids = await _insert_with_ids(
            conn,
            orm.Node,
            [
                {
                    "parent_id": op.parent.id,
                    "key": op.key,
                    "path": op.path,
                    "structure_family": _family(op),
                    "metadata": op.metadata,
                    "specs": [s.to_json() for s in op.put.entry.specs],
                }
                for op in ready
            ],
        )
        for op, node_id in zip(ready, node_ids, strict=True):
            op.slot.id = int(node_id)
        inserted += ready
        ready_ids = {id(op) for op in ready}
        pending = [op for op in pending if id(op) not in ready_ids]
    return inserted


async def _write_puts(conn: AsyncConnection, ops: Sequence[PutOp]) -> list[tuple[PutOp, str]]:
    """Write a run of puts in a few executemany statements; returns the ops refused."""
    refused: list[tuple[PutOp, str]] = []
    creating = []
    for op in ops:
        if op.replacing:
            if op.slot.id is None:
                refused.append((op, f"/{op.path} failed earlier in this batch"))
        elif op.parent.failed:
            refused.append((op, f"Cannot create /{op.path}: its parent failed in this batch"))
            op.slot.failed = True
        else:
            creating.append(op)
    refused_ops = {id(op) for op, _ in refused}
    replacing = [op for op in ops if op.replacing and id(op) not in refused_ops]
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # the triggers stand aside: the search rows are ours to write
        await bulk_sqlite.claim(conn)
    inserted = await _insert_nodes(conn, creating, refused)
    if sqlite:
        found = [(op.slot.id, op.parent.id, op.search) for op in inserted]
        await bulk_sqlite.add(conn, found)  # type: ignore[arg-type]

    # Replaced nodes: new content in place (same id, key and position; children stay).
    old_assets: list[int] = []
    if replacing:
        await _update_nodes(conn, replacing, datetime.now(UTC))
    if sqlite:
        await bulk_sqlite.release(conn)
    if replacing:
        ids = [op.slot.id for op in replacing]
        for chunk in _chunks(ids, _IN_CHUNK):
            sources = select(orm.DataSource.id).where(orm.DataSource.node_id.in_(chunk))
            old_assets += [
                row[0]
                for row in await conn.execute(
                    select(orm.DataSourceAsset.asset_id).where(
                        orm.DataSourceAsset.data_source_id.in_(sources)
                    )
                )
            ]
            await conn.execute(delete(orm.DataSource).where(orm.DataSource.node_id.in_(chunk)))

    written = [
        op for op in (*creating, *replacing) if op.slot.id is not None and not op.slot.failed
    ]
    await _write_data_sources(conn, written)
    if old_assets:
        await delete_orphan_assets(conn, old_assets)
    return refused


async def _write_data_sources(conn: AsyncConnection, ops: Sequence[PutOp]) -> None:
    structures: dict[str, dict[str, Any]] = {}
    source_rows: list[dict[str, Any]] = []
    source_assets: list[list[Any]] = []
    assets: dict[str, dict[str, Any]] = {}
    for op in ops:
        stats = op.put.entry.stats
        for data_source in op.put.entry.data_sources:
            sid = None
            if data_source.structure is not None:
                structure = data_source.structure.to_json()
                sid = structure_id(structure)
                structures[sid] = structure
            source_rows.append(
                {
                    "node_id": op.slot.id,
                    "structure_family": StructureFamily(data_source.structure_family).value,
                    "structure_id": sid,
                    "mimetype": data_source.mimetype,
                    "parameters": data_source.parameters,
                    "properties": data_source.properties,
                    "management": data_source.management.value,
                }
            )
            source_assets.append(list(data_source.assets))
            for asset in data_source.assets:
                stat = stats.get(asset.data_uri)
                assets[asset.data_uri] = {
                    "data_uri": asset.data_uri,
                    "is_directory": asset.is_directory,
                    "size": stat.size if stat is not None else asset.size,
                    "mtime_ns": stat.mtime_ns if stat is not None else None,
                }
    if not source_rows:
        return
    if structures:
        statement = _dialect_insert(conn, orm.Structure).on_conflict_do_nothing(
            index_elements=["id"]
        )
        await conn.execute(
            statement, [{"id": k, "structure": structures[k]} for k in sorted(structures)]
        )
    source_ids = await _insert_with_ids(conn, orm.DataSource, source_rows)
    asset_ids: dict[str, int] = {}
    if assets:
        statement = _dialect_insert(conn, orm.Asset)
        statement = statement.on_conflict_do_update(
            index_elements=["data_uri"],
            set_={
                "size": statement.excluded.size,
                "mtime_ns": statement.excluded.mtime_ns,
                "is_directory": statement.excluded.is_directory,
            },
        ).returning(orm.Asset.id, orm.Asset.data_uri)
        # Sorted: concurrent writers lock the same assets in the same order.
        result = await conn.execute(statement, [assets[k] for k in sorted(assets)])
        asset_ids = {data_uri: int(asset_id) for asset_id, data_uri in result}
    links = [
        {
            "data_source_id": source_id,
            "asset_id": asset_ids[asset.data_uri],
            "parameter": asset.parameter,
            "num": asset.num,
        }
        for source_id, members in zip(source_ids, source_assets, strict=True)
        for asset in members
    ]
    if links:
        await conn.execute(insert(orm.DataSourceAsset), links)


async def _remove(conn: AsyncConnection, ops: Sequence[RemoveOp]) -> None:
    """Delete a run of subtrees: a few statements per hundred, not three per node."""
    candidates: list[int] = []
    for chunk in _chunks([op.path for op in ops], _REMOVE_CHUNK):
        in_subtrees = or_(*(subtree(path) for path in chunk))
        node_ids = [row[0] for row in await conn.execute(select(orm.Node.id).where(in_subtrees))]
        for ids in _chunks(node_ids, _IN_CHUNK):
            candidates += [
                row[0]
                for row in await conn.execute(
                    select(orm.DataSourceAsset.asset_id)
                    .join(orm.DataSource, orm.DataSource.id == orm.DataSourceAsset.data_source_id)
                    .where(orm.DataSource.node_id.in_(ids))
                )
            ]
        await conn.execute(delete(orm.Node).where(in_subtrees))
    await delete_orphan_assets(conn, candidates)
    for op in ops:
        op.slot.failed = True  # later references to it see it gone
        op.slot.id = None


def _database_refusal(error: DBAPIError) -> tuple[int, str]:
    if isinstance(error, IntegrityError):
        return 409, f"The database refused it (a concurrent change?): {error.orig}"
    return 400, f"The database refused it: {error.orig}"


async def apply_changes(
    conn: AsyncConnection, prefix: Sequence[str], changes: Sequence[Change]
) -> list[Outcome]:
    """Apply ``changes`` in order inside the caller's transaction; one outcome each."""
    prefix = tuple(prefix)
    if conn.dialect.name == "postgresql":
        # A catalog being filled grows faster than autovacuum's statistics: the planner
        # then believes ``nodes`` tiny and scans it whole for every batch (and the search
        # triggers scan metadata_index), O(catalog) per batch. Every statement of a batch
        # has an index path; this transaction takes it.
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
    batch = await plan(conn, prefix, changes)
    for segment in batch.segments:
        await _run_segment(conn, segment, changes, batch.outcomes)
    return [
        outcome if outcome is not None else accept(change)
        for outcome, change in zip(batch.outcomes, changes, strict=True)
    ]


async def _run_segment(
    conn: AsyncConnection,
    segment: Sequence[PutOp] | Sequence[RemoveOp],
    changes: Sequence[Change],
    outcomes: list[Outcome | None],
) -> None:
    snapshot = [(op.slot, op.slot.id, op.slot.failed) for op in segment]
    try:
        async with conn.begin_nested():
            refused = await _execute(conn, segment)
    except DBAPIError as err:
        if unavailable_reason(err) is not None or len(segment) == 1:
            if unavailable_reason(err) is not None:
                raise
            op = segment[0]
            op.slot.failed = True
            status, message = _database_refusal(err)
            outcomes[op.index] = refuse(changes[op.index], status, f"/{op.path}: {message}")
            return
        for slot, slot_id, failed in snapshot:  # the savepoint undid the segment
            slot.id, slot.failed = slot_id, failed
        for op in segment:  # again, one at a time, so only the culprit fails
            await _run_segment(conn, [op], changes, outcomes)  # type: ignore[list-item]
        return
    for op, message in refused:
        outcomes[op.index] = refuse(changes[op.index], 404, message)


async def _execute(
    conn: AsyncConnection, segment: Sequence[PutOp] | Sequence[RemoveOp]
) -> list[tuple[PutOp, str]]:
    if isinstance(segment[0], RemoveOp):
        await _remove(conn, segment)  # type: ignore[arg-type]
        return []
    return await _write_puts(conn, segment)  # type: ignore[arg-type]
