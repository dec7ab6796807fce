"""The progress display: a rich bar on a terminal, log lines otherwise; both end with a
summary line once the state is done."""

import asyncio
import logging
from pathlib import Path

import pytest

from tiled.cli.progress import show_progress
from tiled.registration.model import Skipped
from tiled.registration.state import IndexingState


@pytest.mark.parametrize("tty", [True, False])
def test_progress_ends_with_a_summary(tty, caplog):
    state = IndexingState("/data")

    async def run():
        state.begin()
        shown = asyncio.create_task(show_progress(state, tty=tty))
        await asyncio.sleep(0)
        state.saw_files(3)
        state.count("registered", 2)
        state.skip(Skipped(Path("/data/x.txt"), "unrecognised", "no reader"))
        state.finish()
        await shown

    with caplog.at_level(logging.INFO, logger="tiled.registration.progress"):
        asyncio.run(run())
    (line,) = [r.getMessage() for r in caplog.records if "done" in r.getMessage()]
    assert "3 files seen, 2 registered" in line
    assert "unrecognised: 1" in line


def test_failed_state_says_so(caplog):
    state = IndexingState("/data")
    state.begin()
    state.finish(error="OSError: disk gone")
    with caplog.at_level(logging.INFO, logger="tiled.registration.progress"):
        asyncio.run(show_progress(state, tty=False))
    assert any("failed" in r.getMessage() for r in caplog.records)
    assert state.snapshot()["latest_errors"] == ["OSError: disk gone"]
