"""The bulk writer keeps SQLite's search tables itself, a batch at a time.

Migration 0004 makes the insert and update triggers of ``nodes`` stand aside while
``search_writer`` holds a row. The bulk writer puts one there inside its transaction
(SQLite has one writer at a time, and no other connection sees an uncommitted row), writes
its nodes, adds their search rows computed by ``rows.py`` in a few executemany, and
removes the row before the transaction ends; a failed SAVEPOINT takes the row back with
everything else. Deletes still go through the trigger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from .rows import index_rows

_CLAIM = "INSERT INTO search_writer (writer) VALUES (1)"
_RELEASE = "DELETE FROM search_writer"
_INSERT_ROWS = (
    "INSERT OR IGNORE INTO metadata_index (parent_id, path, rank, num, txt, node_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_DELETE_ROWS = (
    "DELETE FROM metadata_index WHERE parent_id = ? AND path = ? AND rank = ? AND num = ? "
    "AND txt = ? AND node_id = ?"
)
_INSERT_DOCUMENT = "INSERT INTO nodes_fts (rowid, text) VALUES (?, ?)"
_DELETE_DOCUMENT = "INSERT INTO nodes_fts (nodes_fts, rowid, text) VALUES ('delete', ?, ?)"
_ADD_CHILDREN = (
    "INSERT INTO node_counts (node_id, children) VALUES (?, ?) "
    "ON CONFLICT (node_id) DO UPDATE SET children = children + excluded.children"
)
_ADD_KEYS = (
    "INSERT INTO key_counts (parent_id, path, nodes) VALUES (?, ?, ?) "
    "ON CONFLICT (parent_id, path) DO UPDATE SET nodes = nodes + excluded.nodes"
)
_REMOVE_KEYS = "UPDATE key_counts SET nodes = nodes - ? WHERE parent_id = ? AND path = ?"


class SearchRows:
    """One node's search rows, computed before anything is written."""

    __slots__ = ("document", "paths", "rows")

    def __init__(self, metadata: Mapping[str, Any], specs: Sequence[Any]) -> None:
        self.rows, self.paths, self.document = index_rows(metadata, specs)


async def claim(conn: AsyncConnection) -> None:
    """From now until :func:`release`, this transaction writes the search rows itself."""
    await conn.exec_driver_sql(_CLAIM)


async def release(conn: AsyncConnection) -> None:
    await conn.exec_driver_sql(_RELEASE)


async def _run(conn: AsyncConnection, statement: str, parameters: list[tuple[Any, ...]]) -> None:
    if parameters:
        await conn.exec_driver_sql(statement, parameters)


def _row_parameters(
    nodes: Iterable[tuple[int, int, SearchRows]],
) -> list[tuple[Any, ...]]:
    return [
        (parent_id, path, rank, num, txt, node_id)
        for node_id, parent_id, search in nodes
        for path, rank, num, txt in search.rows
    ]


async def add(conn: AsyncConnection, nodes: Sequence[tuple[int, int, SearchRows]]) -> None:
    """Index new nodes: (node id, parent id, rows) each, as the insert trigger would."""
    await _run(conn, _INSERT_ROWS, _row_parameters(nodes))
    await _run(conn, _INSERT_DOCUMENT, [(node_id, s.document) for node_id, _, s in nodes])
    children = Counter(parent_id for _, parent_id, _ in nodes)
    await _run(conn, _ADD_CHILDREN, sorted(children.items()))
    keys = Counter((parent_id, path) for _, parent_id, s in nodes for path in s.paths)
    await _run(conn, _ADD_KEYS, [(p, path, n) for (p, path), n in sorted(keys.items())])


async def replace(
    conn: AsyncConnection, nodes: Sequence[tuple[int, int, SearchRows, SearchRows]]
) -> None:
    """Re-index nodes whose metadata or specs changed in place (same parent): (node id,
    parent id, old rows, new rows) each, as the update trigger would."""
    old = [(node_id, parent_id, before) for node_id, parent_id, before, _ in nodes]
    new = [(node_id, parent_id, after) for node_id, parent_id, _, after in nodes]
    await _run(conn, _DELETE_ROWS, _row_parameters(old))
    await _run(conn, _DELETE_DOCUMENT, [(node_id, s.document) for node_id, _, s in old])
    await _run(conn, _INSERT_ROWS, _row_parameters(new))
    await _run(conn, _INSERT_DOCUMENT, [(node_id, s.document) for node_id, _, s in new])
    keys: Counter[tuple[int, str]] = Counter()
    for _, parent_id, before, after in nodes:
        # set(): the trigger's decrement is ``path IN (...)``, once per distinct path
        keys.subtract((parent_id, path) for path in set(before.paths))
        keys.update((parent_id, path) for path in after.paths)
    fewer = [(-n, p, path) for (p, path), n in sorted(keys.items()) if n < 0]
    more = [(p, path, n) for (p, path), n in sorted(keys.items()) if n > 0]
    await _run(conn, _REMOVE_KEYS, fewer)
    await _run(conn, _ADD_KEYS, more)
