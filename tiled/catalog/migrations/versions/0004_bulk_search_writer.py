"""SQLite: the bulk writer may maintain the search tables itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The insert and update triggers of 0002 compute a node's index rows with nested
``json_each`` calls that re-parse its metadata once per depth and kind: about 90 us of the
~180 us CPU that writing a small file's node costs. The bulk writer (``catalog/bulk.py``)
computes the same rows in Python (``search/rows.py``) and inserts a batch's rows in a few
executemany, at about a third of that cost. While it does, a row in ``search_writer``
(present only inside its own transaction; SQLite has one writer at a time) makes these
two triggers stand aside. Every other writer finds the table empty and is indexed by the
triggers as before; deletes always are. PostgreSQL is unchanged: its statement-level
triggers already work a batch at a time.
"""

from __future__ import annotations

from alembic import op

from tiled.catalog.migrations.helpers import migration_module

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_IDLE = "NOT EXISTS (SELECT 1 FROM search_writer)"


def _create_triggers(condition: str) -> None:
    """The insert and update triggers of 0002, firing only when ``condition`` holds too."""
    m = migration_module("0002_search_indexes.py")
    op.execute("DROP TRIGGER IF EXISTS nodes_search_insert")
    op.execute("DROP TRIGGER IF EXISTS nodes_search_update")
    body = "\n".join([*m._sqlite_add("NEW"), m._sqlite_count("NEW", 1)])
    op.execute(
        "CREATE TRIGGER nodes_search_insert AFTER INSERT ON nodes "
        f"WHEN NEW.parent_id IS NOT NULL{condition} BEGIN\n{body}\nEND"
    )
    body = "\n".join(
        [*m._sqlite_remove("OLD"), *m._sqlite_add("NEW")]
        + [m._sqlite_count("OLD", -1), m._sqlite_count("NEW", 1)]
    )
    op.execute(
        "CREATE TRIGGER nodes_search_update AFTER UPDATE OF metadata, specs, parent_id ON nodes "
        f"WHEN OLD.parent_id IS NOT NULL AND NEW.parent_id IS NOT NULL{condition} "
        f"BEGIN\n{body}\nEND"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute("CREATE TABLE search_writer (writer INTEGER PRIMARY KEY)")
    _create_triggers(f" AND {_IDLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    _create_triggers("")
    op.execute("DROP TABLE search_writer")
