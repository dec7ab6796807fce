"""PostgreSQL search triggers for bulk writes: early exit on updates, keyed deletes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Re-indexing replaces nodes in place, often with their metadata unchanged (the file
changed, its header did not): the catalog then updates only ``structure_family`` and
``time_updated``. The statement-level trigger of 0002 still computed the index rows of
every updated node before filtering out the unchanged ones (about 1.5 ms per node for
1,000 nodes), so it now first asks whether any row's metadata, specs or parent changed.
SQLite's trigger is ``AFTER UPDATE OF metadata, specs, parent_id`` and needs nothing.

Removing nodes: ``tiled_index_rows`` was inlined into the delete trigger, where its
nested ``jsonb_each`` calls are estimated at millions of rows per node; the planner then
scanned all of ``metadata_index`` for every DELETE statement (O(catalog): 165 nodes/s
removed from a 100,000-node catalog). Not inlined, with ``ROWS 20``, each old row is
looked up by its key (1,160 nodes/s there).
"""

from __future__ import annotations

from alembic import op

from tiled.catalog.migrations.helpers import migration_module

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _replace_update_function(early_exit: bool) -> None:
    previous = migration_module("0002_search_indexes.py")
    _, body = previous._PG_TRIGGERS["update"]
    if early_exit:
        body = (
            "\n  IF NOT EXISTS (SELECT 1 FROM old_nodes AS o JOIN new_nodes AS n ON n.id = o.id "
            f"WHERE {previous._PG_CHANGED}) THEN\n    RETURN NULL;\n  END IF;\n" + body
        )
    op.execute(
        "CREATE OR REPLACE FUNCTION tiled_search_update() RETURNS trigger "
        f"LANGUAGE plpgsql SET jit = off AS $$\nBEGIN\n{body}\n  RETURN NULL;\nEND\n$$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_update_function(early_exit=True)
        # Not inlined, with a realistic row estimate: inlined, its nested jsonb_each calls
        # are estimated at millions of rows per node, and the delete trigger then joins
        # metadata_index by a full scan instead of looking each row up by its key.
        op.execute("ALTER FUNCTION tiled_index_rows(jsonb, jsonb) ROWS 20 SET jit = off")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_update_function(early_exit=False)
        op.execute("ALTER FUNCTION tiled_index_rows(jsonb, jsonb) ROWS 1000 RESET jit")
