"""``tiled catalog init|upgrade-database URI``: manage a catalog database's schema."""

from __future__ import annotations

import asyncio

import typer

from .errors import reported_errors

app = typer.Typer(help="Create and upgrade catalog databases.", no_args_is_help=True)


@app.command("init")
def init(
    uri: str = typer.Argument(
        ..., help="A SQLite file path or a postgresql://user:pass@host/db URI"
    ),
) -> None:
    """Create the catalog schema (safe to run on an initialised catalog)."""
    from ..catalog.database import initialize_database, mask_password

    with reported_errors():
        asyncio.run(initialize_database(uri))
    typer.echo(f"Initialised the catalog at {mask_password(uri)}")


@app.command("upgrade-database")
def upgrade(
    uri: str = typer.Argument(..., help="A SQLite file path or a postgresql://... URI"),
) -> None:
    """Migrate an existing catalog to this version's schema. Back it up first."""
    from ..catalog.database import mask_password, upgrade_database

    with reported_errors():
        asyncio.run(upgrade_database(uri))
    typer.echo(f"Upgraded the catalog at {mask_password(uri)} to the current schema")
