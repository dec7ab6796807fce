"""Options shared by ``serve directory`` and ``register``: how files become nodes.

Both commands run the same pipeline; this module turns their common options
(``--keep-ext``, ``--include-ext``, ``--ext``, ``--walker``, ``--mimetype-hook``,
``--adapter``) into :class:`tiled.registration.plan.PlanOptions`, with errors that name
the option at fault.
"""

from __future__ import annotations

import os
from typing import Any

import typer

DEFAULT_CONCURRENCY = max(1, min(os.cpu_count() or 1, 8))


def parse_ext(values: list[str]) -> dict[str, str]:
    """``--ext .tif=image/tiff`` pairs as a mapping ``{".tif": "image/tiff"}``."""
    mapping: dict[str, str] = {}
    for value in values:
        extension, sep, mimetype = value.partition("=")
        extension, mimetype = extension.strip(), mimetype.strip()
        if not sep or not extension or not mimetype:
            raise typer.BadParameter(
                f"{value!r}: expected EXTENSION=MIMETYPE, e.g. .tif=image/tiff", param_hint="--ext"
            )
        if not extension.startswith("."):
            extension = "." + extension
        mapping[extension.lower()] = mimetype
    return mapping


def parse_include_ext(values: list[str]) -> tuple[str, ...]:
    return tuple(v.lower() if v.startswith(".") else "." + v.lower() for v in values if v)


def plan_options(
    *,
    keep_ext: bool,
    include_ext: list[str],
    ext: list[str],
    walker: str | None,
    mimetype_hook: str | None,
    readable: tuple[Any, ...] = (),
) -> Any:
    """The :class:`PlanOptions` for these command-line values."""
    from ..registration.plan import PlanOptions

    values: dict[str, Any] = {
        "keep_ext": keep_ext,
        "include_ext": parse_include_ext(include_ext),
        "ext": parse_ext(ext),
        "walker": walker,
        "mimetype_hook": mimetype_hook,
    }
    try:
        return (
            PlanOptions.from_cli(**values)
            if hasattr(PlanOptions, "from_cli")
            else PlanOptions(**values)
        )
    except (ImportError, AttributeError, ValueError) as err:
        raise typer.BadParameter(str(err)) from err
