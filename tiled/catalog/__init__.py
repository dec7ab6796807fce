"""The catalog database: nodes, data sources, assets and search, on SQLite or PostgreSQL.

``Catalog`` is imported on first use, so that the plain records (``tiled.catalog.records``,
used by ``tiled register`` and the indexing workers) do not load SQLAlchemy and Alembic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import AssetStat, NodeRecord, Revision

if TYPE_CHECKING:
    from .nodes import Catalog

__all__ = ["AssetStat", "Catalog", "NodeRecord", "Revision"]


def __getattr__(name: str) -> Any:
    if name == "Catalog":
        from .nodes import Catalog

        return Catalog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
