"""``tiled index explain PATH``: would indexing register this file, under which key, or why not."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import BadRequestError

app = typer.Typer(help="Inspect what indexing a directory does.", no_args_is_help=True)


@app.command("explain")
def explain_command(
    path: Path = typer.Argument(..., help="The file or directory to explain"),
    root: Path | None = typer.Option(
        None, "--root", help="The directory being indexed (default: PATH's parent)"
    ),
    keep_ext: bool = typer.Option(False, "--keep-ext", help="Keys keep file extensions"),
    include_ext: list[str] = typer.Option(
        [], "--include-ext", help="Index only files with these extensions (repeatable)"
    ),
    ext: list[str] = typer.Option(
        [], "--ext", help="Map an extension to a mimetype: .foo=mime/type (repeatable)"
    ),
    mimetype_hook: str | None = typer.Option(
        None, "--mimetype-hook", help="package.module:function(path) -> mimetype or None"
    ),
    walker: str | None = typer.Option(
        None, "--walker", help="package.module:function(directory, key_path, options)"
    ),
    adapter: list[str] = typer.Option(
        [], "--adapter", help="A format reader to add: mimetype=package.module:Class"
    ),
    no_inspect: bool = typer.Option(
        False, "--no-inspect", help="Decide from names only; do not read the file's headers"
    ),
) -> None:
    """Say whether PATH would be indexed, under which key path and mimetype, or why not.

    Exit code 0 when it would be indexed, 1 when not, 2 on a usage error.
    """
    from ..adapters.registry import register_adapter_spec
    from ..registration.explain import explain
    from ..registration.plan import options_from_cli

    try:
        for spec in adapter:
            register_adapter_spec(spec)
        base = root if root is not None else Path(path).absolute().parent
        options = options_from_cli(
            [base],
            keep_ext=keep_ext,
            include_ext=include_ext,
            ext=ext,
            mimetype_hook=mimetype_hook,
            walker=walker,
        )
    except BadRequestError as err:
        raise typer.BadParameter(err.message) from err
    verdict = explain(path, base, options, inspect=not no_inspect)
    typer.echo(verdict.message())
    raise typer.Exit(0 if verdict.indexed else 1)
