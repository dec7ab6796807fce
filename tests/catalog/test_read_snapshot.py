"""A read is one snapshot: a lookup whose statements straddle a writer's commit (a node
replaced in place, as the watcher does when a sequence grows) sees the node wholly as it
was, never its old data source with the new assets (or none)."""

import asyncio
import threading

import anyio.from_thread
from sqlalchemy import select
from sqlalchemy.util import await_only

from tiled.catalog import Catalog, orm
from tiled.catalog.loading import load_record_at, record_at
from tiled.registration.model import Put
from tiled.testing.entries import file_entry, write_tiff


def test_a_lookup_never_sees_half_a_replacement(catalog_uri, tmp_path):
    frames = [write_tiff(tmp_path / f"f{i}.tif", i) for i in range(3)]
    mimetype = "multipart/related;type=image/tiff"

    async def run():
        catalog = await Catalog.connect(catalog_uri, init=True)
        try:
            await catalog.apply((), [Put(file_entry(("seq",), frames[:2], mimetype))])
            async with catalog.connections.reading() as conn:
                # The reader's first statement, then a writer replaces the node...
                before = (await conn.execute(select(orm.DataSource.id))).scalars().all()
                grown = file_entry(("seq",), frames, mimetype)
                (outcome,) = await catalog.apply((), [Put(grown, replace=True)])
                assert outcome.ok, outcome.message
                # ...and the reader's lookup still sees the node as it was, whole.
                record = await load_record_at(conn, "seq")
            after = await catalog.lookup(("seq",))
        finally:
            await catalog.close()
        return before, record, after

    before, record, after = asyncio.run(run())
    source, latest = assert_read_saw_the_old_node(before, record, after)
    assert source.structure.shape[0] == 2
    assert latest.structure.shape[0] == 3


def test_a_whole_read_in_one_go_is_one_snapshot(catalog_uri, tmp_path):
    """``Connections.read`` (a worker thread on a SQLite file, ``run_sync`` on PostgreSQL)
    keeps a read's statements in one snapshot too."""
    frames = [write_tiff(tmp_path / f"f{i}.tif", i) for i in range(3)]
    mimetype = "multipart/related;type=image/tiff"

    async def run():
        catalog = await Catalog.connect(catalog_uri, init=True)

        async def replace() -> None:
            grown = file_entry(("seq",), frames, mimetype)
            (outcome,) = await catalog.apply((), [Put(grown, replace=True)])
            assert outcome.ok, outcome.message

        def read(conn):
            # The reader's first statement, then a writer replaces the node...
            before = conn.execute(select(orm.DataSource.id)).scalars().all()
            if threading.current_thread() is threading.main_thread():
                await_only(replace())  # run_sync: a greenlet of the event loop's thread
            else:
                anyio.from_thread.run(replace)  # a worker thread
            # ...and the rest of the read still sees the node as it was, whole.
            return before, record_at(conn, "seq")

        try:
            await catalog.apply((), [Put(file_entry(("seq",), frames[:2], mimetype))])
            before, record = await catalog.connections.read(read)
            after = await catalog.lookup(("seq",))
        finally:
            await catalog.close()
        return before, record, after

    before, record, after = asyncio.run(run())
    assert_read_saw_the_old_node(before, record, after)


def assert_read_saw_the_old_node(before, record, after):
    """The read saw the two-frame node whole (its first statement's data source, both
    assets); the lookup after the write sees the three-frame one. Returns both sources."""
    (source,) = record.data_sources
    assert [source.id] == before
    assert len(source.assets) == 2
    (latest,) = after.data_sources
    assert len(latest.assets) == 3
    return source, latest
