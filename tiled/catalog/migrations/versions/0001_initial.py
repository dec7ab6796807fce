"""The first catalog schema: nodes, structures, data sources, assets, revisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONVariant = sa.JSON().with_variant(JSONB(), "postgresql")
PathText = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now())


def upgrade() -> None:
    nodes = op.create_table(
        "nodes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE")),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("path", PathText, nullable=False, unique=True),
        sa.Column("structure_family", sa.String(32), nullable=False),
        sa.Column("metadata", JSONVariant, nullable=False),
        sa.Column("specs", JSONVariant, nullable=False),
        _timestamp("time_created"),
        _timestamp("time_updated"),
        sa.UniqueConstraint("parent_id", "key", name="uq_nodes_parent_key"),
    )
    op.create_index("ix_nodes_parent_id_id", "nodes", ["parent_id", "id"])
    op.create_table(
        "structures",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("structure", JSONVariant, nullable=False),
    )
    op.create_table(
        "data_sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("structure_family", sa.String(32), nullable=False),
        sa.Column("structure_id", sa.String(64), sa.ForeignKey("structures.id")),
        sa.Column("mimetype", sa.String(255)),
        sa.Column("parameters", JSONVariant, nullable=False),
        sa.Column("properties", JSONVariant, nullable=False),
        sa.Column("management", sa.String(32), nullable=False),
    )
    op.create_index("ix_data_sources_node_id", "data_sources", ["node_id"])
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("data_uri", sa.Text, nullable=False, unique=True),
        sa.Column("is_directory", sa.Boolean, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("mtime_ns", sa.BigInteger),
        _timestamp("time_created"),
    )
    op.create_table(
        "data_source_assets",
        sa.Column(
            "data_source_id",
            sa.Integer,
            sa.ForeignKey("data_sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.id"), primary_key=True),
        sa.Column("parameter", sa.String(255)),
        sa.Column("num", sa.Integer),
    )
    op.create_index("ix_data_source_assets_asset_id", "data_source_assets", ["asset_id"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("revision_number", sa.Integer, nullable=False),
        sa.Column("metadata", JSONVariant, nullable=False),
        sa.Column("specs", JSONVariant, nullable=False),
        sa.Column("time_updated", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("node_id", "revision_number", name="uq_revisions_number"),
    )
    op.bulk_insert(
        nodes,
        [
            {
                "parent_id": None,
                "key": "",
                "path": "",
                "structure_family": "container",
                "metadata": {},
                "specs": [],
            }
        ],
    )


def downgrade() -> None:
    for table in ("revisions", "data_source_assets", "assets", "data_sources", "structures"):
        op.drop_table(table)
    op.drop_table("nodes")
