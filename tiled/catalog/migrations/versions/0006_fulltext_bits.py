"""PostgreSQL full text: per-block bitmaps that count matches in a few milliseconds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

0005's ``fulltext_words`` counts the nodes having two common words (~33,000 of
1,000,000) by a merge join of two index ranges of ~180,000 entries each: ~45 ms of
server CPU, the floor of that design. ``fulltext_bits`` holds, per container, word and
block of 1,024 node ids (``block = node_id >> 10``), a ``bit(1024)`` whose bit
``node_id & 1023`` is set when the node has the word. The nodes having every word of a
query are then ``SUM(bit_count(a.bits & b.bits ...))`` over ~1,000 rows per common word
joined on the block. Only words of plain ASCII letters or digits, the ones counted so.

Kept in sync by statement-level triggers of their own, beside 0005's: each groups the
transition table by (container, word, block) and ORs or clears the nodes' bits; a row
whose bits all clear is deleted. SQLite's FTS5 index counts without it: nothing changes
there.
"""

from __future__ import annotations

from alembic import op

from tiled.catalog.migrations.helpers import create_statement_triggers, drop_statement_triggers

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Only the words that counts read (search/postgresql.py ``_WHOLE_LEXEME``: plain ASCII
# letters or digits; lexemes are at most 2,047 bytes): at 1,000,000 nodes, a third of the
# rows, as most rare lexemes mix both ("zn6330").
_COUNTED = """word COLLATE "C" ~ '^([a-z]+|[0-9]+)$'"""
# The bits of the nodes of ``nodes`` having each word, per (container, word, block).
_MASKS = f"""
    SELECT n.parent_id, w.word, n.id >> 10 AS block,
           bit_or(set_bit(B'0'::bit(1024), n.id & 1023, 1)) AS bits
    FROM {{nodes}}, unnest(tsvector_to_array(n.fulltext)) AS w(word)
    WHERE n.parent_id IS NOT NULL AND w.{_COUNTED} {{where}}
    GROUP BY 1, 2, 3
"""
# Writers that share a container share its bitmap rows: each statement takes their
# locks in key order (as 0002 does for key_counts), so two writers never wait on each
# other in a cycle.
_ADD = (
    "\n  INSERT INTO fulltext_bits AS f (parent_id, word, block, bits)"
    + _MASKS
    + "    ORDER BY 1, 2, 3\n"
    + "    ON CONFLICT (parent_id, word, block) DO UPDATE SET bits = f.bits | EXCLUDED.bits;\n"
)
# Rows left without a bit go, the others lose the old nodes' bits: two statements, as
# one may not touch a row twice; their rows are locked first, in key order.
_REMOVE = (
    "\n  PERFORM 1 FROM fulltext_bits AS f JOIN ("
    + _MASKS
    + "  ) AS m\n    ON f.parent_id = m.parent_id AND f.word = m.word AND f.block = m.block\n"
    "    ORDER BY f.parent_id, f.word, f.block FOR UPDATE OF f;\n"
    "  DELETE FROM fulltext_bits AS f USING ("
    + _MASKS
    + "  ) AS m\n    WHERE f.parent_id = m.parent_id AND f.word = m.word AND f.block = m.block\n"
    "      AND bit_count(f.bits & ~m.bits) = 0;\n"
    "  UPDATE fulltext_bits AS f SET bits = f.bits & ~m.bits FROM ("
    + _MASKS
    + "  ) AS m\n    WHERE f.parent_id = m.parent_id AND f.word = m.word AND f.block = m.block;\n"
)
_CHANGED = "(o.fulltext IS DISTINCT FROM n.fulltext OR o.parent_id IS DISTINCT FROM n.parent_id)"
_OLD = "old_nodes AS n"
_NEW = "new_nodes AS n"
# the old, then the new rows of the nodes whose words or container changed (``n`` is
# the side whose bits move; _CHANGED reads the same either way)
_OLD_CHANGED = "old_nodes AS n JOIN new_nodes AS o ON o.id = n.id"
_NEW_CHANGED = "new_nodes AS n JOIN old_nodes AS o ON o.id = n.id"

_FILL_SETTINGS = ["enable_hashagg = off", "max_parallel_workers_per_gather = 0", "jit = off"]

_TRIGGERS = {
    "insert": ("NEW TABLE AS new_nodes", _ADD.format(nodes=_NEW, where="")),
    "delete": ("OLD TABLE AS old_nodes", _REMOVE.format(nodes=_OLD, where="")),
    "update": (
        "OLD TABLE AS old_nodes NEW TABLE AS new_nodes",
        "\n  IF NOT EXISTS (SELECT 1 FROM old_nodes AS o JOIN new_nodes AS n ON n.id = o.id "
        f"WHERE {_CHANGED}) THEN\n    RETURN NULL;\n  END IF;\n"
        + _REMOVE.format(nodes=_OLD_CHANGED, where=f"AND {_CHANGED}")
        + _ADD.format(nodes=_NEW_CHANGED, where=f"AND {_CHANGED}"),
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE fulltext_bits (
            parent_id integer NOT NULL,
            word text COLLATE "C" NOT NULL,
            block integer NOT NULL,
            bits bit(1024) NOT NULL,
            PRIMARY KEY (parent_id, word, block)
        )
        """
    )
    # Existing catalogs: from 0005's word table, which holds the same lexemes. Its index
    # yields them grouped by (container, word): streamed into groups in key order, rather
    # than hashed (~2,500,000 groups of 128 bytes at 1,000,000 nodes spill to disk).
    for setting in _FILL_SETTINGS:
        op.execute(f"SET {setting}")
    op.execute(
        f"""
        INSERT INTO fulltext_bits (parent_id, word, block, bits)
        SELECT parent_id, word, node_id >> 10,
               bit_or(set_bit(B'0'::bit(1024), node_id & 1023, 1))
        FROM fulltext_words WHERE {_COUNTED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """
    )
    for setting in _FILL_SETTINGS:
        op.execute(f"RESET {setting.split(' = ')[0]}")
    create_statement_triggers("bits", _TRIGGERS)
    op.execute("ANALYZE fulltext_bits")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    drop_statement_triggers("bits")
    op.execute("DROP TABLE IF EXISTS fulltext_bits")
