"""Subtrees of the catalog: selecting and deleting a node with everything below it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import orm

IN_CHUNK = 1000  # values per IN (...) list


def subtree(path: str, *, include_self: bool = True) -> Any:
    """Rows of ``nodes`` at or below ``path`` (byte-wise order: "a/" <= p < "a0")."""
    if not path:
        return orm.Node.path != "" if not include_self else orm.Node.path.is_not(None)
    below = (orm.Node.path >= path + "/") & (orm.Node.path < path + "0")
    return (orm.Node.path == path) | below if include_self else below


async def delete_subtree(conn: AsyncConnection, path: str) -> None:
    """Delete the node at ``path`` and everything below it, and assets nothing else uses."""
    in_subtree = subtree(path)
    asset_ids = select(orm.DataSourceAsset.asset_id).where(
        orm.DataSourceAsset.data_source_id.in_(
            select(orm.DataSource.id).where(
                orm.DataSource.node_id.in_(select(orm.Node.id).where(in_subtree))
            )
        )
    )
    candidates = [row[0] for row in await conn.execute(asset_ids)]
    await conn.execute(delete(orm.Node).where(in_subtree))
    await delete_orphan_assets(conn, candidates)


async def delete_orphan_assets(conn: AsyncConnection, candidates: Sequence[int]) -> None:
    """Delete those of ``candidates`` no data source links to any more."""
    for chunk in chunks(sorted(set(candidates)), IN_CHUNK):
        still_used = select(orm.DataSourceAsset.asset_id).where(
            orm.DataSourceAsset.asset_id.in_(chunk)
        )
        await conn.execute(
            delete(orm.Asset).where(orm.Asset.id.in_(chunk), orm.Asset.id.not_in(still_used))
        )


def chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
