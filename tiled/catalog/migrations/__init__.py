"""Alembic migrations of the catalog schema, run programmatically (no alembic.ini)."""
