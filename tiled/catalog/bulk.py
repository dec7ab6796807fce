"""Many node writes in one transaction, and the fingerprints of a subtree: what indexing
needs from the catalog (``Catalog.apply`` and ``Catalog.registered_under``).

``apply`` first *plans* the whole batch in Python against the state of every path it
touches (fetched in a few queries): bad keys, missing parents, taken keys and removed
nodes are refused there, in order, before any SQL runs. The accepted changes then run as
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, bindparam, delete, func, insert, or_, select, text, type_coerce, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import BadRequestError, NotFoundError, UnsupportedOperationError
from ..registration.model import Change, Outcome, Put, Remove
from ..structures.core import StructureFamily
from . import orm
from .connections import unavailable_reason
from .records import join_path, structure_id
from .search import bulk_sqlite
from .search.rows import NotPlainJSON, parse_stored
from .subtree import IN_CHUNK as _IN_CHUNK
from .subtree import chunks as _chunks
from .subtree import delete_orphan_assets, subtree

_REMOVE_CHUNK = 100  # subtrees per DELETE

CONTAINER = StructureFamily.container.value


# -- planning a batch -------------------------------------------------------------------


@dataclass(eq=False)
class _Slot:
    """A node as the batch sees it at one point: in the database or created by the batch."""

    path: str
    family: str
    id: int | None = None  # None until inserted (created in this batch)
    children: int = 0
    failed: bool = False  # its creation failed at execution: dependants fail too


@dataclass(eq=False)
class _PutOp:
    index: int
    put: Put
    path: str
    key: str
    slot: _Slot  # the node written (new, or the existing one replaced)
    parent: _Slot
    replacing: bool
    metadata: dict[str, Any]  # as stored (normalised through JSON if it had to be)
    search: bulk_sqlite.SearchRows | None  # SQLite: the search rows, written by us


@dataclass(eq=False)
class _RemoveOp:
    index: int
    path: str
    slot: _Slot


@dataclass
class _Batch:
    """The planned batch: outcomes known so far, and the runs of operations to execute."""

    outcomes: list[Outcome | None]
    segments: list[list[_PutOp] | list[_RemoveOp]] = field(default_factory=list)


def _refuse(change: Change, status: int, message: str) -> Outcome:
    key_path = change.entry.key_path if isinstance(change, Put) else change.key_path
    return Outcome(key_path=tuple(key_path), ok=False, message=message, status=status)


def _accept(change: Change) -> Outcome:
    key_path = change.entry.key_path if isinstance(change, Put) else change.key_path
    return Outcome(key_path=tuple(key_path), ok=True)


async def _known_slots(conn: AsyncConnection, paths: set[str]) -> dict[str, _Slot | None]:
    """The nodes at ``paths`` (None where there is none), with their child counts."""
    found: dict[str, _Slot | None] = dict.fromkeys(paths)
    ordered = sorted(paths)
    for chunk in _chunks(ordered, _IN_CHUNK):
        rows = await conn.execute(
            select(
                orm.Node.id,
                orm.Node.path,
                orm.Node.structure_family,
                func.coalesce(orm.NodeCount.children, 0),
            )
            .outerjoin(orm.NodeCount, orm.NodeCount.node_id == orm.Node.id)
            .where(orm.Node.path.in_(chunk))
        )
        for node_id, path, family, children in rows:
            found[path] = _Slot(path, family, int(node_id), int(children))
    return found


def _check_key_path(key_path: Sequence[str]) -> str | None:
    from .records import check_key

    if not key_path:
        return "An empty key path names the registration prefix itself, which cannot change"
    try:
        for key in key_path:
            check_key(key)
    except BadRequestError as err:
        return err.message
    return None


class _Planner:
    """Walks the batch in order against the state of every path it touches."""

    def __init__(
        self,
        prefix: tuple[str, ...],
        state: dict[str, _Slot | None],
        size: int,
        search_rows: bool = False,
    ):
        self.prefix = prefix
        self.search_rows = search_rows  # compute each put's search rows (SQLite)
        self.state = state
        self.batch = _Batch(outcomes=[None] * size)
        self.run: list[Any] = []
        self.in_run: set[str] = set()
        self.clock = 0  # when each slot appeared and each subtree was removed
        self.born: dict[int, int] = {}
        self.removed_at: dict[str, int] = {}

    def lookup(self, path: str) -> _Slot | None:
        """The node at ``path`` now: gone if it or an ancestor was removed since it appeared."""
        slot = self.state.get(path)
        if slot is None:
            return None
        born = self.born.get(id(slot), -1)
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            if self.removed_at.get("/".join(parts[:depth]), -2) > born:
                return None
        return slot

    def close_run(self) -> None:
        if self.run:
            self.batch.segments.append(self.run)
        self.run, self.in_run = [], set()

    def add(self, index: int, change: Change, problem: str | None) -> None:
        """Plan ``change``; ``problem`` is what :func:`_check_key_path` said of its key path."""
        key_path = tuple(change.entry.key_path if isinstance(change, Put) else change.key_path)
        if problem is not None:
            status = 405 if not key_path else 400
            self.batch.outcomes[index] = _refuse(change, status, problem)
            return
        path = join_path((*self.prefix, *key_path))
        parent_path = join_path((*self.prefix, *key_path[:-1]))
        if isinstance(change, Remove):
            self.remove(index, change, path, parent_path)
        else:
            refusal = self.put(index, change, path, parent_path, key_path[-1])
            if refusal is not None:
                self.batch.outcomes[index] = _refuse(change, *refusal)

    def remove(self, index: int, change: Remove, path: str, parent_path: str) -> None:
        current = self.lookup(path)
        if current is None:
            self.batch.outcomes[index] = _refuse(change, 404, f"No such entry: /{path}")
            return
        if self.run and not isinstance(self.run[0], _RemoveOp):
            self.close_run()
        self.run.append(_RemoveOp(index, path, current))
        parent = self.lookup(parent_path)
        if parent is not None:
            parent.children -= 1
        self.clock += 1
        self.removed_at[path] = self.clock

    def put(
        self, index: int, change: Put, path: str, parent_path: str, key: str
    ) -> tuple[int, str] | None:
        family = StructureFamily(change.entry.structure_family).value
        parent = self.lookup(parent_path)
        current = self.lookup(path)
        if parent is None:
            return 404, f"Cannot create /{path}: its parent /{parent_path} does not exist"
        if parent.family != CONTAINER:
            return 405, (
                f"Cannot create /{path}: its parent /{parent_path} is an {parent.family}, "
                "not a container"
            )
        if current is not None and not change.replace:
            return 409, f"/{path} already exists; send it with replace=true to replace it"
        if current is not None and current.children and family != CONTAINER:
            return 409, (
                f"Cannot replace the container /{path}, which has {current.children} "
                f"children, with an {family}; remove it first"
            )
        metadata = change.entry.metadata
        search = None
        if self.search_rows:
            try:
                metadata, search = _search_rows(metadata, change.entry.specs)
            except (ValueError, TypeError) as err:
                return 400, f"Cannot store the metadata of /{path}: {err}"
        if self.run and (not isinstance(self.run[0], _PutOp) or path in self.in_run):
            self.close_run()
        if current is None:
            slot = _Slot(path, family)
            self.clock += 1
            self.born[id(slot)] = self.clock
            self.state[path] = slot
            parent.children += 1
            op = _PutOp(index, change, path, key, slot, parent, False, metadata, search)
        else:
            current.family = family
            op = _PutOp(index, change, path, key, current, parent, True, metadata, search)
        self.run.append(op)
        self.in_run.add(path)
        return None


async def _plan(
    conn: AsyncConnection, prefix: tuple[str, ...], changes: Sequence[Change]
) -> _Batch:
    root = join_path(prefix)
    touched: set[str] = {root}
    problems: list[str | None] = []
    for change in changes:
        key_path = tuple(change.entry.key_path if isinstance(change, Put) else change.key_path)
        problems.append(_check_key_path(key_path))
        if key_path and problems[-1] is None:
            touched.add(join_path((*prefix, *key_path)))
            touched.add(join_path((*prefix, *key_path[:-1])))
    state = await _known_slots(conn, touched)
    root_slot = state[root]
    if root_slot is None:
        raise NotFoundError(
            f"The registration prefix /{root} does not exist; create it first "
            "(POST /api/v1/metadata/...)"
        )
    if root_slot.family != CONTAINER:
        raise UnsupportedOperationError(
            f"The registration prefix /{root} is an {root_slot.family}, not a container"
        )
    planner = _Planner(prefix, state, len(changes), conn.dialect.name == "sqlite")
    for index, (change, problem) in enumerate(zip(changes, problems, strict=True)):
        planner.add(index, change, problem)
    planner.close_run()
    return planner.batch


def _search_rows(
    metadata: Any, specs: Sequence[Any]
) -> tuple[dict[str, Any], bulk_sqlite.SearchRows]:
    """The metadata as it will be stored, and its search rows."""
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a JSON object, not {type(metadata).__name__}")
    spec_json = [s.to_json() for s in specs]
    try:
        return metadata, bulk_sqlite.SearchRows(metadata, spec_json)
    except NotPlainJSON:  # a key that is not a string: store (and index) what JSON makes of it
        metadata = json.loads(json.dumps(metadata))
        return metadata, bulk_sqlite.SearchRows(metadata, spec_json)


# -- executing it -----------------------------------------------------------------------


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


def _family(op: _PutOp) -> str:
    return StructureFamily(op.put.entry.structure_family).value


async def _update_nodes(conn: AsyncConnection, ops: Sequence[_PutOp], now: datetime) -> None:
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
    conn: AsyncConnection, creating: list[_PutOp], refused: list[tuple[_PutOp, str]]
) -> list[_PutOp]:
    """Insert new nodes level by level (a parent created here gets its id only when
    inserted); returns those inserted, adds the others to ``refused``."""
    inserted: list[_PutOp] = []
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


async def _write_puts(conn: AsyncConnection, ops: Sequence[_PutOp]) -> list[tuple[_PutOp, str]]:
    """Write a run of puts in a few executemany statements; returns the ops refused."""
    refused: list[tuple[_PutOp, str]] = []
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


async def _write_data_sources(conn: AsyncConnection, ops: Sequence[_PutOp]) -> None:
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


async def _remove(conn: AsyncConnection, ops: Sequence[_RemoveOp]) -> None:
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
    batch = await _plan(conn, prefix, changes)
    for segment in batch.segments:
        await _run_segment(conn, segment, changes, batch.outcomes)
    return [
        outcome if outcome is not None else _accept(change)
        for outcome, change in zip(batch.outcomes, changes, strict=True)
    ]


async def _run_segment(
    conn: AsyncConnection,
    segment: Sequence[_PutOp] | Sequence[_RemoveOp],
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
            outcomes[op.index] = _refuse(changes[op.index], status, f"/{op.path}: {message}")
            return
        for slot, slot_id, failed in snapshot:  # the savepoint undid the segment
            slot.id, slot.failed = slot_id, failed
        for op in segment:  # again, one at a time, so only the culprit fails
            await _run_segment(conn, [op], changes, outcomes)  # type: ignore[list-item]
        return
    for op, message in refused:
        outcomes[op.index] = _refuse(changes[op.index], 404, message)


async def _execute(
    conn: AsyncConnection, segment: Sequence[_PutOp] | Sequence[_RemoveOp]
) -> list[tuple[_PutOp, str]]:
    if isinstance(segment[0], _RemoveOp):
        await _remove(conn, segment)  # type: ignore[arg-type]
        return []
    return await _write_puts(conn, segment)  # type: ignore[arg-type]
