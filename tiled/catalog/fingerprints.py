"""The fingerprints of a subtree: what indexing compares with the files on disk to tell
which nodes are unchanged (their files are then never opened)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import and_, select

from ..errors import NotFoundError
from ..registration.model import Fingerprint, Registered
from ..structures.core import StructureFamily
from . import orm
from .connections import Connections
from .records import join_path, split_stored_path
from .subtree import subtree

PAGE_SIZE = 5000  # nodes per query when listing a subtree


async def registered_under(
    connections: Connections, prefix: Sequence[str], page_size: int = PAGE_SIZE
) -> AsyncIterator[Registered]:
    """Every node below ``prefix`` with its fingerprint, parents first, two queries a page.

    Pages are keyed on the path (its unique index gives the order), and each page has a
    connection of its own, so a slow consumer holds no connection between pages.
    """
    prefix = tuple(prefix)
    root = join_path(prefix)
    async with connections.reading() as conn:
        found = (
            await conn.execute(select(orm.Node.structure_family).where(orm.Node.path == root))
        ).first()
    if found is None:
        raise NotFoundError(f"No such entry: {list(prefix)}")
    in_subtree = subtree(root, include_self=False)
    after: str | None = None
    depth = len(prefix)
    while True:
        where = in_subtree if after is None else and_(in_subtree, orm.Node.path > after)
        async with connections.reading() as conn:
            rows = (
                await conn.execute(
                    select(orm.Node.id, orm.Node.path, orm.Node.structure_family)
                    .where(where)
                    .order_by(orm.Node.path)
                    .limit(page_size)
                )
            ).all()
            if not rows:
                return
            page = and_(in_subtree, orm.Node.path >= rows[0].path, orm.Node.path <= rows[-1].path)
            assets = await conn.execute(
                select(
                    orm.DataSource.node_id, orm.Asset.data_uri, orm.Asset.size, orm.Asset.mtime_ns
                )
                .join(
                    orm.DataSourceAsset,
                    orm.DataSourceAsset.data_source_id == orm.DataSource.id,
                )
                .join(orm.Asset, orm.Asset.id == orm.DataSourceAsset.asset_id)
                .where(orm.DataSource.node_id.in_(select(orm.Node.id).where(page)))
            )
            prints: dict[int, list[tuple[str, int | None, int | None]]] = {}
            for node_id, data_uri, size, mtime_ns in assets:
                prints.setdefault(node_id, []).append((data_uri, _int(size), _int(mtime_ns)))
        for row in rows:
            fingerprint: Fingerprint = tuple(sorted(prints.get(row.id, ())))
            yield Registered(
                key_path=split_stored_path(row.path)[depth:],
                structure_family=StructureFamily(row.structure_family),
                fingerprint=fingerprint,
            )
        if len(rows) < page_size:
            return
        after = rows[-1].path


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
