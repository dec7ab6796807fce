"""Real files and the NodeEntry values indexing would make of them, for sink tests and
benchmarks: the files are written by the format libraries and inspected by our adapters."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..catalog.records import AssetStat
from ..registration.model import KeyPath, NodeEntry
from ..structures.core import StructureFamily
from ..structures.data_source import Asset, DataSource


def write_tiff(path: Path, value: int = 0, shape: tuple[int, ...] = (8, 8)) -> Path:
    import numpy
    import tifffile

    tifffile.imwrite(path, numpy.full(shape, value, dtype="uint16"))
    return path


def write_csv(path: Path, rows: int = 3) -> Path:
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(rows)))
    return path


def write_hdf5(path: Path) -> Path:
    import h5py
    import numpy

    with h5py.File(path, "w") as file:
        file.attrs["sample"] = "Ni"
        file.create_dataset("x", data=numpy.arange(10))
    return path


def file_entry(
    key_path: KeyPath,
    paths: Sequence[Path],
    mimetype: str,
    *,
    metadata: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> NodeEntry:
    """The entry of one file (or a sequence, in order), inspected by our adapter."""
    from ..adapters.registry import inspect

    resolved = [Path(os.path.realpath(p)) for p in paths]
    found = inspect(mimetype, resolved, parameters)
    sequence = len(resolved) > 1
    assets = [
        Asset(
            data_uri=p.as_uri(),
            is_directory=p.is_dir(),
            parameter="data_uris" if sequence else "data_uri",
            num=i if sequence else None,
        )
        for i, p in enumerate(resolved)
    ]
    stats = {}
    for p in resolved:
        info = p.stat()
        stats[p.as_uri()] = AssetStat(None if p.is_dir() else info.st_size, info.st_mtime_ns)
    return NodeEntry(
        key_path=tuple(key_path),
        structure_family=found.structure_family,
        metadata={**found.metadata, **(metadata or {})},
        specs=list(found.specs),
        data_sources=[
            DataSource(
                structure_family=found.structure_family,
                structure=found.structure,
                mimetype=mimetype,
                parameters=dict(parameters or {}),
                assets=assets,
            )
        ],
        stats=stats,
    )


def container_entry(key_path: KeyPath, metadata: dict[str, Any] | None = None) -> NodeEntry:
    """A plain directory's node: a container without data sources."""
    return NodeEntry(tuple(key_path), StructureFamily.container, dict(metadata or {}), [], [])
