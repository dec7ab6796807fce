"""Entry point of the ``tiled`` command: assembles the command groups."""

from __future__ import annotations

import typer

from . import catalog, index, register, serve

app = typer.Typer(
    name="tiled",
    help="Serve, index and register scientific data files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(serve.app, name="serve")
app.add_typer(catalog.app, name="catalog")
app.add_typer(index.app, name="index")
app.command("register")(register.register)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
