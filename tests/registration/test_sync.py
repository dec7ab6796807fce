"""The sync driver against a real catalog: real files, real inspection in worker processes.

Every test runs the whole pipeline (walk -> compare -> inspect -> CatalogSink) and checks
both the returned Summary and what the catalog then holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import numpy
import pytest

from tiled.catalog import Catalog
from tiled.errors import NotFoundError
from tiled.registration.inspect import Inspector
from tiled.registration.plan import options_from_cli
from tiled.registration.sinks import CatalogSink
from tiled.registration.state import IndexingState
from tiled.registration.sync import load_registered, resync_directory, synchronise
from tiled.server.indexing import _close
from tiled.testing.trees import write_csv, write_h5, write_indexing_tree, write_npy, write_tiff


async def _sync(uri: str, root: Path, *, state: IndexingState | None = None, batch_size=500):
    catalog = await Catalog.connect(uri)
    sink = CatalogSink(catalog, (), (root,))
    inspector = Inspector(2)
    try:
        summary = await synchronise(
            root,
            sink,
            options_from_cli([root]),
            inspector=inspector,
            state=state,
            batch_size=batch_size,
        )
        return summary
    finally:
        await _close(inspector)
        await sink.close()
        await catalog.close()


def sync(uri: str, root: Path, **kwargs):
    return asyncio.run(_sync(uri, root, **kwargs))


async def _lookup(uri: str, *path: str):
    catalog = await Catalog.connect(uri)
    try:
        return await catalog.lookup(path)
    finally:
        await catalog.close()


def lookup(uri: str, *path: str):
    return asyncio.run(_lookup(uri, *path))


def exists(uri: str, *path: str) -> bool:
    try:
        lookup(uri, *path)
    except NotFoundError:
        return False
    return True


def test_every_format_is_indexed(catalog_uri, tmp_path):
    root = tmp_path / "data"
    expected = write_indexing_tree(root)
    state = IndexingState(str(root))
    summary = sync(catalog_uri, root, state=state)
    assert summary.ok, summary.refused
    for key, node in expected.items():
        record = lookup(catalog_uri, key)
        assert record.structure_family.value == node.family, key
        assert len(record.data_sources[0].assets) == node.assets, key
        assert record.data_sources[0].mimetype == node.mimetype, key
    assert lookup(catalog_uri, "nested", "deeper", "inner").structure_family.value == "table"
    # 15 nodes of every format and inner.csv are data nodes; nested, deeper containers.
    assert summary.inspected == 16
    assert summary.registered == 18
    assert summary.skipped == {"hidden": 1, "unrecognised": 1}
    assert state.done
    assert state.phase == "idle"
    snapshot = json.loads(json.dumps(state.snapshot()))
    assert snapshot["nodes_indexed"] == 18
    assert snapshot["skipped"] == {"hidden": 1, "unrecognised": 1}
    assert any(s["path"].endswith("notes.txt") for s in snapshot["latest_skipped"])


def test_second_run_changes_nothing_and_opens_nothing(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    write_indexing_tree(root)
    first = sync(sqlite_uri, root)
    second = sync(sqlite_uri, root)
    assert (second.registered, second.replaced, second.removed, second.inspected) == (0, 0, 0, 0)
    assert second.unchanged == first.inspected == 16


def test_unchanged_stat_means_never_reopened(sqlite_uri, tmp_path):
    """A file corrupted behind our back with its size and mtime restored is not opened:
    the catalog keeps the structure it had (proof that unchanged files are not read)."""
    root = tmp_path / "data"
    root.mkdir()
    write_npy(root / "a.npy", 0)
    sync(sqlite_uri, root)
    before = lookup(sqlite_uri, "a").data_sources[0].structure
    path = root / "a.npy"
    info = path.stat()
    path.write_bytes(b"\xff" * info.st_size)  # same size, garbage content
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    summary = sync(sqlite_uri, root)
    assert summary.inspected == 0
    assert summary.unchanged == 1
    assert lookup(sqlite_uri, "a").data_sources[0].structure == before


def test_modify_add_delete_between_runs(catalog_uri, tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "gone" / "deep").mkdir(parents=True)
    write_npy(root / "keep.npy", 0)
    write_npy(root / "change.npy", 0)
    write_csv(root / "sub" / "delete.csv", 0)
    write_csv(root / "gone" / "deep" / "x.csv", 0)
    sync(catalog_uri, root)
    assert exists(catalog_uri, "gone", "deep", "x")

    numpy.save(root / "change.npy", numpy.zeros((5, 7)))
    stat = (root / "change.npy").stat()
    os.utime(root / "change.npy", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    write_tiff(root / "sub" / "new.tif", 3)
    (root / "sub" / "delete.csv").unlink()
    shutil.rmtree(root / "gone")
    summary = sync(catalog_uri, root)

    assert summary.ok, summary.refused
    assert summary.replaced == 1
    assert summary.registered == 1
    assert summary.removed == 2  # sub/delete, and gone (with its subtree) as one root
    assert summary.inspected == 2
    assert summary.unchanged == 1
    assert list(lookup(catalog_uri, "change").data_sources[0].structure.shape) == [5, 7]
    assert exists(catalog_uri, "sub", "new")
    assert not exists(catalog_uri, "sub", "delete")
    assert not exists(catalog_uri, "gone")


def test_key_collisions_are_reported_and_nobody_wins(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    write_csv(root / "run.csv", 0)
    write_npy(root / "other.npy", 0)
    sync(sqlite_uri, root)
    assert exists(sqlite_uri, "run")

    write_npy(root / "run.npy", 0)  # now run.csv and run.npy both want the key "run"
    summary = sync(sqlite_uri, root)
    assert summary.skipped.get("collision") == 2
    assert sorted(s.path.name for s in summary.collisions) == ["run.csv", "run.npy"]
    assert not exists(sqlite_uri, "run")  # the old node is removed: neither file wins
    assert summary.removed == 1
    assert exists(sqlite_uri, "other")


def test_corrupt_files_are_skipped_and_registered_ones_removed(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    write_h5(root / "good.h5", 0)
    write_h5(root / "becomes_bad.h5", 0)
    (root / "bad.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 20)  # truncated
    first = sync(sqlite_uri, root)
    assert exists(sqlite_uri, "good")
    assert exists(sqlite_uri, "becomes_bad")
    assert not exists(sqlite_uri, "bad")
    assert sum(first.skipped.values()) == 1
    (reason,) = first.skipped
    assert reason in ("corrupt", "unreadable", "incomplete")

    (root / "becomes_bad.h5").write_bytes(b"garbage" * 10)
    second = sync(sqlite_uri, root)
    assert not exists(sqlite_uri, "becomes_bad")  # policy: removed, counted as skipped
    assert second.removed == 1
    assert sum(second.skipped.values()) == 2
    assert exists(sqlite_uri, "good")


def test_small_batches_keep_parents_before_children(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    for i in range(5):
        d = root / f"a{i}" / "b" / "c"
        d.mkdir(parents=True)
        write_csv(d / "t.csv", i)
    summary = sync(sqlite_uri, root, batch_size=1)
    assert summary.ok, summary.refused
    assert all(exists(sqlite_uri, f"a{i}", "b", "c", "t") for i in range(5))


def test_resync_one_directory(sqlite_uri, tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    write_npy(root / "sub" / "a.npy", 0)
    write_npy(root / "sub" / "b.npy", 0)
    write_npy(root / "top.npy", 0)
    sync(sqlite_uri, root)

    numpy.save(root / "sub" / "a.npy", numpy.zeros(9))
    (root / "sub" / "b.npy").unlink()
    write_csv(root / "sub" / "c.csv", 0)
    (root / "sub" / "newdir").mkdir()

    async def run():
        catalog = await Catalog.connect(sqlite_uri)
        sink = CatalogSink(catalog, (), (root,))
        inspector = Inspector(1)
        try:
            held = await load_registered(sink)
            subset = {k: v for k, v in held.items() if len(k) == 2 and k[0] == "sub"}
            return await resync_directory(
                root / "sub", ("sub",), sink, options_from_cli([root]), inspector, subset
            )
        finally:
            await _close(inspector)
            await sink.close()
            await catalog.close()

    summary = asyncio.run(run())
    assert summary.ok, summary.refused
    assert (summary.replaced, summary.registered, summary.removed) == (1, 2, 1)
    assert summary.new_directories == [((root / "sub" / "newdir").resolve(), ("sub", "newdir"))]
    assert list(lookup(sqlite_uri, "sub", "a").data_sources[0].structure.shape) == [9]
    assert exists(sqlite_uri, "sub", "c")
    assert not exists(sqlite_uri, "sub", "b")
    assert exists(sqlite_uri, "top")


@pytest.mark.slow
def test_a_thousand_files(sqlite_uri, tmp_path):
    from tiled.testing.trees import write_mixed_tree

    root = tmp_path / "tree"
    write_mixed_tree(root, 1000, seed=1)
    first = sync(sqlite_uri, root)
    assert first.ok, first.refused
    assert first.files_seen == 1000
    second = sync(sqlite_uri, root)
    assert second.inspected == 0
    assert second.unchanged == first.inspected
