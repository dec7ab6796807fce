"""Showing indexing progress on the terminal: a rich bar on a TTY, else log lines.

The walk's total is unknown until it ends, so the bar counts files handled and shows
the counters beside it; without a terminal (a service, a pipe) a line is logged every
few seconds instead, so logs stay readable.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from ..registration.state import IndexingState

logger = logging.getLogger("tiled.registration.progress")

LOG_INTERVAL = 5.0
BAR_INTERVAL = 0.2


def describe(snapshot: dict[str, Any]) -> str:
    """One line: what the counters say."""
    skipped = snapshot["skipped_total"]
    text = (
        f"{snapshot['files_seen']} files seen, {snapshot['registered']} registered, "
        f"{snapshot['updated']} replaced, {snapshot['unchanged']} unchanged, "
        f"{snapshot['removed']} removed, {skipped} skipped"
    )
    if snapshot["errors"]:
        text += f", {snapshot['errors']} errors"
    return text


def describe_skipped(snapshot: dict[str, Any]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in snapshot["skipped"].items())


async def show_progress(state: IndexingState, *, tty: bool | None = None) -> None:
    """Follow ``state`` until it is done (a bar on a TTY, log lines otherwise)."""
    tty = sys.stderr.isatty() if tty is None else tty
    # Shown even when the server logs warnings only; set here, as logging.config
    # resets the levels of existing loggers.
    logger.setLevel(logging.INFO)
    if tty:
        await _bar(state)
    else:
        await _log_lines(state)
    snapshot = state.snapshot()
    logger.info(
        "Indexing %s %s in %.1f s (%.0f files/s): %s%s",
        snapshot["root"],
        "failed" if snapshot["phase"] == "failed" else "done",
        snapshot["elapsed_seconds"],
        snapshot["files_per_second"],
        describe(snapshot),
        f" ({describe_skipped(snapshot)})" if snapshot["skipped"] else "",
    )


async def _log_lines(state: IndexingState) -> None:
    while not state.done:
        await _sleep_unless_done(state, LOG_INTERVAL)
        if not state.done:
            snapshot = state.snapshot()
            logger.info("Indexing (%s): %s", snapshot["phase"], describe(snapshot))


async def _sleep_unless_done(state: IndexingState, seconds: float) -> None:
    waited = 0.0
    while waited < seconds and not state.done:
        await asyncio.sleep(0.1)
        waited += 0.1


async def _bar(state: IndexingState) -> None:
    from rich.console import Console
    from rich.progress import (
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[phase]}[/]"),
        TextColumn("{task.completed} files"),
        TextColumn("[dim]{task.fields[rate]} files/s[/]"),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("indexing", total=None, phase="starting", rate="0", counts="")
        while True:
            snapshot = state.snapshot()
            progress.update(
                task,
                completed=snapshot["files_seen"],
                phase=snapshot["phase"],
                rate=f"{snapshot['files_per_second']:.0f}",
                counts=describe(snapshot),
            )
            if state.done:
                progress.update(task, total=snapshot["files_seen"])
                break
            await asyncio.sleep(BAR_INTERVAL)
