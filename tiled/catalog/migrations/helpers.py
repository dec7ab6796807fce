"""Pieces that several migration scripts use.

Kept small and stable: a change here changes what the migrations that use it do.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

VERSIONS = Path(__file__).with_name("versions")


def migration_module(filename: str) -> ModuleType:
    """An earlier migration script as a module (its file name starts with a digit, so
    it cannot be imported by name), to reuse the SQL it defines."""
    path = VERSIONS / filename
    spec = importlib.util.spec_from_file_location(f"tiled_migration_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def create_statement_triggers(prefix: str, triggers: dict[str, tuple[str, str]]) -> None:
    """For each ``name: (transition tables, plpgsql body)``, a function
    ``tiled_{prefix}_{name}`` and a statement-level trigger ``nodes_{prefix}_{name}``
    after that operation on ``nodes`` (PostgreSQL)."""
    for name, (transition, body) in triggers.items():
        op.execute(
            f"CREATE FUNCTION tiled_{prefix}_{name}() RETURNS trigger "
            f"LANGUAGE plpgsql SET jit = off AS $$\nBEGIN\n{body}\n  RETURN NULL;\nEND\n$$"
        )
        op.execute(
            f"CREATE TRIGGER nodes_{prefix}_{name} AFTER {name.upper()} ON nodes "
            f"REFERENCING {transition} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION tiled_{prefix}_{name}()"
        )


def drop_statement_triggers(prefix: str) -> None:
    """Undo :func:`create_statement_triggers` for insert, update and delete."""
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS nodes_{prefix}_{name} ON nodes")
        op.execute(f"DROP FUNCTION IF EXISTS tiled_{prefix}_{name}()")
