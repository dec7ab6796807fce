"""The change sources on a real directory: inotify events and the stat-only poll."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from tiled.registration.watch_sources import (
    EventSource,
    PollingSource,
    is_watch_limit,
    open_source,
)


async def _batches_until(source, expected, make_changes):
    seen: set = set()
    make_changes()
    async with asyncio.timeout(60):
        while not expected <= seen:
            seen |= await source.next_batch()
    return seen


def test_events_name_created_modified_and_deleted_paths(tmp_path):
    (tmp_path / "old.csv").write_text("a\n1\n")
    (tmp_path / "sub").mkdir()

    def changes():
        (tmp_path / "new.csv").write_text("a\n1\n")
        (tmp_path / "sub" / "deep.csv").write_text("a\n1\n")
        (tmp_path / "old.csv").unlink()

    source = EventSource(tmp_path, debounce=0.1)
    try:
        expected = {tmp_path / "new.csv", tmp_path / "sub" / "deep.csv", tmp_path / "old.csv"}
        assert expected <= asyncio.run(_batches_until(source, expected, changes))
    finally:
        source.close()


def test_polling_compares_stat_only(tmp_path):
    (tmp_path / "same.csv").write_text("a\n1\n")
    (tmp_path / "grows.csv").write_text("a\n1\n")
    (tmp_path / "goes.csv").write_text("a\n1\n")
    source = open_source(tmp_path, poll=0.1)
    assert isinstance(source, PollingSource)
    assert "polling" in source.description

    def changes():
        with open(tmp_path / "grows.csv", "a") as f:
            f.write("2\n")
        (tmp_path / "goes.csv").unlink()
        (tmp_path / "dir").mkdir()
        (tmp_path / "dir" / "new.csv").write_text("a\n1\n")

    expected = {
        tmp_path / "grows.csv",
        tmp_path / "goes.csv",
        tmp_path / "dir",
        tmp_path / "dir" / "new.csv",
    }
    seen = asyncio.run(_batches_until(source, expected, changes))
    assert tmp_path / "same.csv" not in seen


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError('OS file watch limit reached. about ["/data"]'),
        RuntimeError("OS file watch limit reached."),
    ],
)
def test_the_inotify_watch_limit_is_recognised(error):
    assert is_watch_limit(error)


def test_other_errors_are_not_the_watch_limit():
    assert not is_watch_limit(OSError(errno.ENOENT, os.strerror(errno.ENOENT)))
    assert not is_watch_limit(ValueError("bad"))
