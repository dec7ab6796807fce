"""The catalog's tables. Changes here need an Alembic migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import BIT, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

JSONVariant = JSON().with_variant(JSONB(), "postgresql")
# Byte-wise ordering of paths on every dialect, so "a/" <= path < "a0" selects a subtree.
PathText = Text().with_variant(Text(collation="C"), "postgresql")


def _timestamp() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Base(DeclarativeBase):
    pass


class Node(Base):
    """A container or leaf. ``path`` is materialised ("a/b/c") so any path is one lookup."""

    __tablename__ = "nodes"
    __table_args__ = (
        UniqueConstraint("parent_id", "key", name="uq_nodes_parent_key"),
        Index("ix_nodes_parent_id_id", "parent_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), nullable=True
    )
    key: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(PathText, unique=True)
    structure_family: Mapped[str] = mapped_column(String(32))
    metadata_: Mapped[dict] = mapped_column("metadata", JSONVariant)
    specs: Mapped[list] = mapped_column(JSONVariant)
    time_created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    time_updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Structure(Base):
    """Structures are de-duplicated: many nodes share one (e.g. a thousand equal TIFFs)."""

    __tablename__ = "structures"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of canonical JSON
    structure: Mapped[dict] = mapped_column(JSONVariant)


class DataSource(Base):
    __tablename__ = "data_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    structure_family: Mapped[str] = mapped_column(String(32))
    structure_id: Mapped[str | None] = mapped_column(ForeignKey("structures.id"), nullable=True)
    mimetype: Mapped[str | None] = mapped_column(String(255))
    parameters: Mapped[dict] = mapped_column(JSONVariant)
    properties: Mapped[dict] = mapped_column(JSONVariant)
    management: Mapped[str] = mapped_column(String(32))


class Asset(Base):
    """One file or directory; ``size`` and ``mtime_ns`` let indexing detect change."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data_uri: Mapped[str] = mapped_column(Text, unique=True)
    is_directory: Mapped[bool] = mapped_column(Boolean)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    time_created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DataSourceAsset(Base):
    __tablename__ = "data_source_assets"
    __table_args__ = (Index("ix_data_source_assets_asset_id", "asset_id"),)

    data_source_id: Mapped[int] = mapped_column(
        ForeignKey("data_sources.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    parameter: Mapped[str | None] = mapped_column(String(255), nullable=True)
    num: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("node_id", "revision_number", name="uq_revisions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    revision_number: Mapped[int] = mapped_column(Integer)
    metadata_: Mapped[dict] = mapped_column("metadata", JSONVariant)
    specs: Mapped[list] = mapped_column(JSONVariant)
    time_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- search structures (migration 0002), maintained by triggers on ``nodes`` -------------
# SQLite declares metadata_index WITHOUT ROWID; PostgreSQL gives path and txt the "C"
# collation, so strings compare by code point on both.
CText = Text().with_variant(Text(collation="C"), "postgresql")


class JSONNumber(UserDefinedType[object]):
    """NUMERIC passed through untouched: int/float from SQLite, Decimal from PostgreSQL.

    SQLAlchemy's Numeric would round-trip floats through Decimal or float and lose
    exactness that cursors and equality need.
    """

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "NUMERIC"


class MetadataIndex(Base):
    """One row per indexed metadata value of a node (see ``search/index.py``)."""

    __tablename__ = "metadata_index"
    __table_args__ = (PrimaryKeyConstraint("parent_id", "path", "rank", "num", "txt", "node_id"),)

    parent_id: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(CText)
    rank: Mapped[int] = mapped_column(SmallInteger)
    num: Mapped[object] = mapped_column(JSONNumber())
    txt: Mapped[str] = mapped_column(CText)
    node_id: Mapped[int] = mapped_column(Integer)


class NodeCount(Base):
    """How many children a container has; absent means none."""

    __tablename__ = "node_counts"

    node_id: Mapped[int] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    children: Mapped[int] = mapped_column(BigInteger)


class KeyCount(Base):
    """How many children of a container have a value at an indexed key path."""

    __tablename__ = "key_counts"

    parent_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(CText, primary_key=True)
    nodes: Mapped[int] = mapped_column(BigInteger)


class FulltextWord(Base):
    """One lexeme of a node's full-text document (PostgreSQL only; migration 0005): the
    B-tree on these three columns counts the nodes having some words without the heap."""

    __tablename__ = "fulltext_words"
    __table_args__ = (PrimaryKeyConstraint("parent_id", "word", "node_id"),)

    parent_id: Mapped[int] = mapped_column(Integer)
    word: Mapped[str] = mapped_column(CText)
    node_id: Mapped[int] = mapped_column(Integer)


class FulltextBits(Base):
    """Which nodes of a block of 1,024 node ids have a lexeme (PostgreSQL only; migration
    0006): bit ``node_id & 1023`` of ``bits`` in block ``node_id >> 10``. ANDing the rows of
    several words counts the nodes having them all from ~1,000 rows per common word."""

    __tablename__ = "fulltext_bits"
    __table_args__ = (PrimaryKeyConstraint("parent_id", "word", "block"),)

    parent_id: Mapped[int] = mapped_column(Integer)
    word: Mapped[str] = mapped_column(CText)
    block: Mapped[int] = mapped_column(Integer)
    bits: Mapped[str] = mapped_column(BIT(1024))
