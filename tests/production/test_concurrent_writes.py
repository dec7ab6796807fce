"""Concurrent registrations from several processes' catalogs: nodes that share a
structure (same shape and type) or a file must all succeed, on both dialects."""

import asyncio

import pytest

from tiled.catalog import Catalog
from tiled.structures.array import ArrayStructure, BuiltinDtype
from tiled.structures.core import StructureFamily
from tiled.structures.data_source import Asset, DataSource, Management
from tiled.testing.catalog_checks import catalog_problems

pytestmark = pytest.mark.postgres


def data_source(uri: str) -> DataSource:
    import numpy

    structure = ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(numpy.dtype("uint16")),
        shape=(16, 16),
        chunks=((16,), (16,)),
    )
    return DataSource(
        structure_family=StructureFamily.array,
        structure=structure,
        mimetype="image/tiff",
        management=Management.external,
        assets=[Asset(data_uri=uri, is_directory=False, parameter="data_uri")],
    )


def test_racing_registrations_sharing_structures_and_files(catalog_uri):
    async def run():
        catalogs = [await Catalog.connect(catalog_uri) for _ in range(3)]
        try:

            async def register(i: int):
                catalog = catalogs[i % len(catalogs)]
                shared_file = f"file:///data/shared{i % 4}.tiff"  # four files, many nodes
                return await catalog.create_node(
                    (),
                    key=f"n{i}",
                    structure_family=StructureFamily.array,
                    metadata={},
                    specs=[],
                    data_sources=[data_source(shared_file)],
                )

            results = await asyncio.gather(*(register(i) for i in range(24)))
            assert len(results) == 24
            return await catalogs[0].count(())
        finally:
            for catalog in catalogs:
                await catalog.close()

    assert asyncio.run(run()) == 24
    assert catalog_problems(catalog_uri) == {}
