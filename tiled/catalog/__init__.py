"""The catalog database: nodes, data sources, assets and search, on SQLite or PostgreSQL."""

from .nodes import Catalog
from .records import AssetStat, NodeRecord, Revision

__all__ = ["AssetStat", "Catalog", "NodeRecord", "Revision"]
