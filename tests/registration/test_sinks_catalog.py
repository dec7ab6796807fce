"""CatalogSink: the in-process sink, with the server's path checks, on both databases."""

import asyncio
import os

import pytest

from tiled.catalog import Catalog
from tiled.registration.model import Put, Remove, Sink
from tiled.registration.sinks import CatalogSink
from tiled.structures.core import StructureFamily
from tiled.testing.entries import container_entry, file_entry, write_csv, write_tiff


@pytest.fixture
def tree(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    write_tiff(data / "a.tiff", 1)
    write_csv(data / "sub" / "t.csv")
    write_tiff(outside / "secret.tiff", 2)
    os.symlink(outside / "secret.tiff", data / "link.tiff")
    return data


def run(catalog_uri, body):
    async def main():
        catalog = await Catalog.connect(catalog_uri)
        try:
            return await body(catalog)
        finally:
            await catalog.close()

    return asyncio.run(main())


def test_catalog_sink_writes_checks_and_lists(catalog_uri, tree):
    async def body(catalog):
        sink: Sink = CatalogSink(catalog, (), readable=[tree])
        outcomes = await sink.apply(
            [
                Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff")),
                Put(container_entry(("sub",))),
                Put(file_entry(("sub", "t"), [tree / "sub" / "t.csv"], "text/csv")),
                Put(
                    file_entry(("secret",), [tree.parent / "outside" / "secret.tiff"], "image/tiff")
                ),
            ]
        )
        assert [(o.ok, o.status) for o in outcomes] == [
            (True, None),
            (True, None),
            (True, None),
            (False, 403),
        ]
        assert "outside the readable directories" in outcomes[3].message
        # a symlink leading outside is refused too: the entry names the link itself
        link = file_entry(("link",), [tree.parent / "outside" / "secret.tiff"], "image/tiff")
        link.data_sources[0].assets[0].data_uri = (tree / "link.tiff").as_uri()
        refused = await sink.apply([Put(link)])
        assert refused[0].status == 403
        # a missing file and an unknown mimetype are refused with their own statuses
        gone = file_entry(("gone",), [tree / "a.tiff"], "image/tiff")
        gone.data_sources[0].assets[0].data_uri = (tree / "nope.tiff").as_uri()
        odd = file_entry(("odd",), [tree / "a.tiff"], "image/tiff")
        odd.data_sources[0].mimetype = "application/x-unknown"
        assert [o.status for o in await sink.apply([Put(gone), Put(odd)])] == [400, 415]
        registered = [r async for r in sink.registered()]
        assert [r.key_path for r in registered] == [("a",), ("sub",), ("sub", "t")]
        stat = os.stat(tree / "a.tiff")
        assert registered[0].fingerprint == (
            ((tree / "a.tiff").resolve().as_uri(), stat.st_size, stat.st_mtime_ns),
        )
        assert registered[1].structure_family == StructureFamily.container
        assert [o.ok for o in await sink.apply([Remove(("sub",))])] == [True]
        assert [k async for k in _keys(sink)] == [("a",)]
        await sink.close()

    run(catalog_uri, body)


async def _keys(sink):
    async for r in sink.registered():
        yield r.key_path


def test_catalog_sink_under_a_prefix(catalog_uri, tree):
    async def body(catalog):
        await catalog.create_node(
            (), key="p", structure_family=StructureFamily.container, metadata={}, specs=[]
        )
        sink = CatalogSink(catalog, ("p",), readable=[tree])
        outcomes = await sink.apply([Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff"))])
        assert outcomes[0].ok
        assert (await catalog.lookup(("p", "a"))).data_sources[0].assets[0].size > 0
        assert [r.key_path for r in [x async for x in sink.registered()]] == [("a",)]

    run(catalog_uri, body)
