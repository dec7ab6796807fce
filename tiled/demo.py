"""A small example tree of real files, and its registration, for ``tiled serve demo``.

The generator knows what it wrote, so registration here needs no directory walker:
each entry names its key, mimetype and files, and the adapters read the headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy

from .structures.core import StructureFamily
from .structures.data_source import Asset, DataSource, Management


@dataclass(frozen=True)
class ExampleEntry:
    key: str
    mimetype: str
    files: tuple[str, ...]
    parameter: str = "data_uri"
    metadata: tuple[tuple[str, object], ...] = ()


def _write_images(directory: Path) -> list[ExampleEntry]:
    import tifffile

    rng = numpy.random.default_rng(0)
    image = (rng.random((256, 256)) * 4000).astype("uint16")
    tifffile.imwrite(directory / "image.tif", image, description="demo image")
    frames = []
    (directory / "scan").mkdir(exist_ok=True)
    for i in range(5):
        name = f"scan/frame_{i:03d}.tif"
        tifffile.imwrite(directory / name, (image + i * 100).astype("uint16"))
        frames.append(name)
    return [
        ExampleEntry("image", "image/tiff", ("image.tif",), metadata=(("kind", "image"),)),
        ExampleEntry(
            "scan",
            "multipart/related;type=image/tiff",
            tuple(frames),
            "data_uris",
            (("kind", "scan"), ("sample", "Ni"), ("temperature", 300)),
        ),
    ]


def _write_tables(directory: Path) -> list[ExampleEntry]:
    import pandas

    frame = pandas.DataFrame(
        {"x": numpy.arange(10), "y": numpy.arange(10) ** 2, "label": list("abcdefghij")}
    )
    frame.to_csv(directory / "table.csv", index=False)
    frame.to_parquet(directory / "measurements.parquet")
    return [
        ExampleEntry("table", "text/csv", ("table.csv",), "data_uris", (("kind", "csv"),)),
        ExampleEntry(
            "measurements",
            "application/x-parquet",
            ("measurements.parquet",),
            "data_uris",
            (("kind", "parquet"),),
        ),
    ]


def _write_arrays(directory: Path) -> list[ExampleEntry]:
    import h5py

    numpy.save(directory / "volume.npy", numpy.arange(4 * 8 * 8, dtype="float64").reshape(4, 8, 8))
    with h5py.File(directory / "experiment.h5", "w") as file:
        file.attrs["title"] = "demo experiment"
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_dataset(
            "counts", data=numpy.arange(1000, dtype="int32").reshape(10, 100), chunks=(5, 100)
        )
        data.attrs["units"] = "counts"
    return [
        ExampleEntry("volume", "application/x-npy", ("volume.npy",), metadata=(("kind", "npy"),)),
        ExampleEntry("experiment", "application/x-hdf5", ("experiment.h5",)),
    ]


def write_example_tree(directory: Path) -> list[ExampleEntry]:
    """Write the example files into ``directory`` (created if needed); list what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    return _write_images(directory) + _write_tables(directory) + _write_arrays(directory)


def data_source_for(entry: ExampleEntry, directory: Path) -> tuple[StructureFamily, DataSource]:
    """Inspect an entry's files (headers only) and describe them as a data source."""
    from .adapters.registry import inspect

    paths = [directory / name for name in entry.files]
    inspection = inspect(entry.mimetype, paths)
    plural = entry.parameter == "data_uris"
    assets = [
        Asset(
            data_uri=path.resolve().as_uri(),
            is_directory=False,
            parameter=entry.parameter,
            num=i if plural else None,
        )
        for i, path in enumerate(paths)
    ]
    source = DataSource(
        structure_family=inspection.structure_family,
        structure=inspection.structure,
        mimetype=entry.mimetype,
        assets=assets,
        management=Management.external,
    )
    return StructureFamily(inspection.structure_family), source


async def register_example_tree(catalog_uri: str, directory: Path) -> int:
    """Write the example tree and register every entry in the catalog; returns the count."""
    import os

    from .catalog import AssetStat, Catalog
    from .errors import ConflictError

    entries = write_example_tree(directory)
    catalog = await Catalog.connect(catalog_uri, init=True)
    try:
        for entry in entries:
            family, source = data_source_for(entry, directory)
            stats = {}
            for asset, name in zip(source.assets, entry.files, strict=True):
                info = os.stat(directory / name)
                asset.size = info.st_size
                stats[asset.data_uri] = AssetStat(size=info.st_size, mtime_ns=info.st_mtime_ns)
            try:
                await catalog.create_node(
                    (),
                    key=entry.key,
                    structure_family=family,
                    metadata=dict(entry.metadata),
                    specs=[],
                    data_sources=[source],
                    asset_stats=stats,
                )
            except ConflictError:
                continue  # registered by an earlier run of the demo
    finally:
        await catalog.close()
    return len(entries)
