"""Options shared by ``serve directory`` and ``register``: how files become nodes.

Both commands run the same pipeline; this turns their common options (``--keep-ext``,
``--include-ext``, ``--ext``, ``--walker``, ``--mimetype-hook``) into
:class:`tiled.registration.plan.PlanOptions`, stopping the command with a message that
names the option at fault.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import reported_errors

DEFAULT_CONCURRENCY = max(1, min(os.cpu_count() or 1, 8))


def plan_options(
    directory: Path,
    *,
    keep_ext: bool,
    include_ext: list[str],
    ext: list[str],
    walker: str | None,
    mimetype_hook: str | None,
) -> Any:
    """The :class:`PlanOptions` for these command-line values (links may stay inside
    ``directory``)."""
    from ..registration.plan import options_from_cli

    with reported_errors():
        return options_from_cli(
            [directory],
            keep_ext=keep_ext,
            include_ext=include_ext,
            ext=ext,
            mimetype_hook=mimetype_hook,
            walker=walker,
        )
