"""Consistency checks of a catalog database, for crash tests.

Each check is one SQL query that must return no rows; a problem is reported with the
rows it found, so a failing test says what was left behind.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from ..catalog.database import create_engine

CHECKS = {
    "node whose parent is missing": """
        SELECT n.path FROM nodes n LEFT JOIN nodes p ON p.id = n.parent_id
        WHERE n.parent_id IS NOT NULL AND p.id IS NULL""",
    "node whose path does not end in its key": """
        SELECT path FROM nodes WHERE parent_id IS NOT NULL
        AND path NOT LIKE '%' || key""",
    "array or table node without a data source (half registered)": """
        SELECT n.path FROM nodes n LEFT JOIN data_sources d ON d.node_id = n.id
        WHERE n.structure_family IN ('array', 'table') AND d.id IS NULL""",
    "data source without assets": """
        SELECT d.id FROM data_sources d LEFT JOIN data_source_assets a ON a.data_source_id = d.id
        WHERE a.asset_id IS NULL""",
    "data source of a missing node": """
        SELECT d.id FROM data_sources d LEFT JOIN nodes n ON n.id = d.node_id WHERE n.id IS NULL""",
    "data source with a missing structure": """
        SELECT d.id FROM data_sources d LEFT JOIN structures s ON s.id = d.structure_id
        WHERE d.structure_id IS NOT NULL AND s.id IS NULL""",
    "asset link to a missing asset or data source": """
        SELECT a.data_source_id, a.asset_id FROM data_source_assets a
        LEFT JOIN assets s ON s.id = a.asset_id
        LEFT JOIN data_sources d ON d.id = a.data_source_id
        WHERE s.id IS NULL OR d.id IS NULL""",
    "orphaned asset (no data source uses it)": """
        SELECT s.data_uri FROM assets s LEFT JOIN data_source_assets a ON a.asset_id = s.id
        WHERE a.asset_id IS NULL""",
}


async def _problems(uri: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(uri)
    found: dict[str, list[tuple[object, ...]]] = {}
    try:
        async with engine.connect() as conn:
            for name, query in CHECKS.items():
                rows = [tuple(row) for row in await conn.execute(text(query))]
                if rows:
                    found[name] = rows[:10]
    finally:
        await engine.dispose()
    return found


def catalog_problems(uri: str) -> dict[str, list[tuple[object, ...]]]:
    """Every inconsistency found in the catalog at ``uri`` (empty when it is sound)."""
    return asyncio.run(_problems(uri))
