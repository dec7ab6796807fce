"""One change costs one directory's listing and one file's inspection, whatever the size
of the tree: the watcher in-process against a real catalog, its work counted (no timing)."""

from __future__ import annotations

import asyncio
import shutil

import numpy
import pytest

from tiled.catalog import Catalog
from tiled.errors import NotFoundError
from tiled.registration.inspect import Inspector
from tiled.registration.plan import options_from_cli
from tiled.registration.sinks import CatalogSink
from tiled.registration.watch import Watcher, WatchOptions
from tiled.server.indexing import _close

pytestmark = pytest.mark.slow

DIRECTORIES = 40
FILES = 5


async def _until(condition, what: str, timeout: float = 120.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


async def _scenario(uri: str, root) -> None:
    catalog = await Catalog.connect(uri)
    sink = CatalogSink(catalog, (), (root,))
    inspector = Inspector(1)
    watcher = Watcher(
        root,
        sink,
        options_from_cli([root]),
        inspector=inspector,
        watch=WatchOptions(settle=0.2, reconcile=None),
    )

    async def exists(*path: str) -> bool:
        try:
            await catalog.lookup(path)
        except NotFoundError:
            return False
        return True

    async def quiet() -> bool:
        return not watcher._incoming and not watcher._due and not watcher._wake.is_set()

    running = asyncio.create_task(watcher.run(initial_sync=True))
    try:
        await _until(lambda: _ready(watcher), "the initial pass")
        await _until(quiet, "the initial pass to settle")
        assert await exists("d39", "f4_x")
        before = watcher.counts.copy()

        numpy.save(root / "d7" / "new_one.npy", numpy.arange(3))
        await _until(lambda: exists("d7", "new_one"), "the new file")
        await _until(quiet, "the change to settle")
        (root / "d8" / "f0_x.npy").unlink()
        shutil.rmtree(root / "d9")
        await _until(lambda: _both_gone(exists), "the deleted file and directory")
        await _until(quiet, "the deletions to settle")
        after = watcher.counts.copy()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await _close(inspector)
        await catalog.close()

    assert before["sink_loads"] == after["sink_loads"] == 1  # never reloaded per event
    assert before["tree_passes"] == after["tree_passes"] == 1  # never re-walked per event
    assert after["inspected"] - before["inspected"] == 1  # only the new file was opened
    # d7 (settling: listed again when due), d8 and the root (for d9): a handful, not 40
    listed = after["directories_listed"] - before["directories_listed"]
    assert 3 <= listed <= 10, listed
    # untouched directories are all still there
    assert all([await _exists_fresh(uri, f"d{i}") for i in range(10, DIRECTORIES)])


async def _ready(watcher: Watcher) -> bool:
    return watcher.ready.is_set()


async def _both_gone(exists) -> bool:
    return not await exists("d8", "f0_x") and not await exists("d9")


async def _exists_fresh(uri: str, key: str) -> bool:
    catalog = await Catalog.connect(uri)
    try:
        await catalog.lookup((key,))
        return True
    except NotFoundError:
        return False
    finally:
        await catalog.close()


def test_one_change_costs_one_directory(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    for d in range(DIRECTORIES):
        (root / f"d{d}").mkdir(parents=True)
        for f in range(FILES):
            numpy.save(root / f"d{d}" / f"f{f}_x.npy", numpy.arange(f + 1))
    asyncio.run(_scenario(sqlite_uri, root))
