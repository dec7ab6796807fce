"""PostgreSQL full text: a word table that counts matches from a B-tree alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

The GIN index on ``nodes.fulltext`` finds matches, but PostgreSQL cannot count them
from it: an exact count of two common words (~33,000 of 1,000,000 nodes) visited
~30,000 heap pages of the wide ``nodes`` table (p50 164 ms). ``fulltext_words`` holds
one row ``(parent_id, word, node_id)`` per lexeme of each node's stored ``fulltext``
(the very lexemes GIN indexes), B-tree indexed in that order: the nodes of a container
having a word are one index range in node order, counted by an index-only scan, and
the nodes having several words are a merge join of such ranges.

Kept in sync by statement-level triggers of their own on insert, delete and update
(only when a node's ``fulltext`` or parent changed), beside the search triggers of
0002/0003, which they leave alone. SQLite's FTS5 index already counts without the
table: nothing changes there.
"""

from __future__ import annotations

from alembic import op

from tiled.catalog.migrations.helpers import create_statement_triggers, drop_statement_triggers

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEX = "CREATE INDEX ix_fulltext_words ON fulltext_words (parent_id, word, node_id)"

_ADD = """
  INSERT INTO fulltext_words (parent_id, word, node_id)
    SELECT n.parent_id, w.word, n.id
    FROM {nodes}, unnest(tsvector_to_array(n.fulltext)) AS w(word)
    WHERE n.parent_id IS NOT NULL {where};
"""
# The old words are recomputed from the old row and deleted by key, as 0002 does for
# metadata_index: the table needs no second index on node_id.
_REMOVE = """
  DELETE FROM fulltext_words AS f
    USING {nodes}, unnest(tsvector_to_array(o.fulltext)) AS w(word)
    WHERE f.parent_id = o.parent_id AND f.word = w.word AND f.node_id = o.id
      AND o.parent_id IS NOT NULL {where};
"""
_CHANGED = "(o.fulltext IS DISTINCT FROM n.fulltext OR o.parent_id IS DISTINCT FROM n.parent_id)"
_PAIRS = "old_nodes AS o JOIN new_nodes AS n ON n.id = o.id"

_TRIGGERS = {
    "insert": ("NEW TABLE AS new_nodes", _ADD.format(nodes="new_nodes AS n", where="")),
    "delete": ("OLD TABLE AS old_nodes", _REMOVE.format(nodes="old_nodes AS o", where="")),
    "update": (
        "OLD TABLE AS old_nodes NEW TABLE AS new_nodes",
        f"\n  IF NOT EXISTS (SELECT 1 FROM {_PAIRS} WHERE {_CHANGED}) THEN\n"
        "    RETURN NULL;\n  END IF;\n"
        + _REMOVE.format(nodes=_PAIRS, where=f"AND {_CHANGED}")
        + _ADD.format(
            nodes="new_nodes AS n JOIN old_nodes AS o ON o.id = n.id", where=f"AND {_CHANGED}"
        ),
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE fulltext_words (
            parent_id integer NOT NULL,
            word text COLLATE "C" NOT NULL,
            node_id integer NOT NULL
        )
        """
    )
    # Existing catalogs: fill first, then build the index in one sort.
    op.execute(_ADD.format(nodes="nodes AS n", where=""))
    op.execute(_INDEX)
    create_statement_triggers("words", _TRIGGERS)
    op.execute("ANALYZE fulltext_words")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    drop_statement_triggers("words")
    op.execute("DROP TABLE IF EXISTS fulltext_words")
