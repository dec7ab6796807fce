"""Planning a batch of node writes before any SQL runs (``bulk.apply_changes``).

The whole batch is walked in Python against the state of every path it touches (fetched
in a few queries): bad keys, missing parents, taken keys and removed nodes are refused
here, in order; the accepted changes are grouped into runs of puts and of removes for
``bulk.py`` to execute. On SQLite the search rows of each node put are computed here too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import BadRequestError, NotFoundError, UnsupportedOperationError
from ..registration.model import Change, Outcome, Put, Remove
from ..structures.core import StructureFamily
from . import orm
from .records import join_path
from .search import bulk_sqlite
from .search.rows import NotPlainJSON
from .subtree import IN_CHUNK as _IN_CHUNK
from .subtree import chunks as _chunks

CONTAINER = StructureFamily.container.value


@dataclass(eq=False)
class Slot:
    """A node as the batch sees it at one point: in the database or created by the batch."""

    path: str
    family: str
    id: int | None = None  # None until inserted (created in this batch)
    children: int = 0
    failed: bool = False  # its creation failed at execution: dependants fail too


@dataclass(eq=False)
class PutOp:
    index: int
    put: Put
    path: str
    key: str
    slot: Slot  # the node written (new, or the existing one replaced)
    parent: Slot
    replacing: bool
    metadata: dict[str, Any]  # as stored (normalised through JSON if it had to be)
    search: bulk_sqlite.SearchRows | None  # SQLite: the search rows, written by us


@dataclass(eq=False)
class RemoveOp:
    index: int
    path: str
    slot: Slot


@dataclass
class Batch:
    """The planned batch: outcomes known so far, and the runs of operations to execute."""

    outcomes: list[Outcome | None]
    segments: list[list[PutOp] | list[RemoveOp]] = field(default_factory=list)


def refuse(change: Change, status: int, message: str) -> Outcome:
    key_path = change.entry.key_path if isinstance(change, Put) else change.key_path
    return Outcome(key_path=tuple(key_path), ok=False, message=message, status=status)


def accept(change: Change) -> Outcome:
    key_path = change.entry.key_path if isinstance(change, Put) else change.key_path
    return Outcome(key_path=tuple(key_path), ok=True)


async def _known_slots(conn: AsyncConnection, paths: set[str]) -> dict[str, Slot | None]:
    """The nodes at ``paths`` (None where there is none), with their child counts."""
    found: dict[str, Slot | None] = dict.fromkeys(paths)
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
            found[path] = Slot(path, family, int(node_id), int(children))
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
        state: dict[str, Slot | None],
        size: int,
        search_rows: bool = False,
    ):
        self.prefix = prefix
        self.search_rows = search_rows  # compute each put's search rows (SQLite)
        self.state = state
        self.batch = Batch(outcomes=[None] * size)
        self.run: list[Any] = []
        self.in_run: set[str] = set()
        self.clock = 0  # when each slot appeared and each subtree was removed
        self.born: dict[int, int] = {}
        self.removed_at: dict[str, int] = {}

    def lookup(self, path: str) -> Slot | None:
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
            self.batch.outcomes[index] = refuse(change, status, problem)
            return
        path = join_path((*self.prefix, *key_path))
        parent_path = join_path((*self.prefix, *key_path[:-1]))
        if isinstance(change, Remove):
            self.remove(index, change, path, parent_path)
        else:
            refusal = self.put(index, change, path, parent_path, key_path[-1])
            if refusal is not None:
                self.batch.outcomes[index] = refuse(change, *refusal)

    def remove(self, index: int, change: Remove, path: str, parent_path: str) -> None:
        current = self.lookup(path)
        if current is None:
            self.batch.outcomes[index] = refuse(change, 404, f"No such entry: /{path}")
            return
        if self.run and not isinstance(self.run[0], RemoveOp):
            self.close_run()
        self.run.append(RemoveOp(index, path, current))
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
        if self.run and (not isinstance(self.run[0], PutOp) or path in self.in_run):
            self.close_run()
        if current is None:
            slot = Slot(path, family)
            self.clock += 1
            self.born[id(slot)] = self.clock
            self.state[path] = slot
            parent.children += 1
            op = PutOp(index, change, path, key, slot, parent, False, metadata, search)
        else:
            current.family = family
            op = PutOp(index, change, path, key, current, parent, True, metadata, search)
        self.run.append(op)
        self.in_run.add(path)
        return None


async def plan(conn: AsyncConnection, prefix: tuple[str, ...], changes: Sequence[Change]) -> Batch:
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
