"""Directory trees of real files, written by each format's own library, for indexing
tests and benchmarks.

:func:`write_every_format` writes one small file (or store) of every built-in format and
returns what indexing should make of each. :func:`write_mixed_tree` writes ``n`` small
files of the common formats across nested directories, reproducibly from ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy

SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Expected:
    """What indexing a written file should give: key, mimetype, family, number of assets."""

    key: str
    mimetype: str
    family: str
    assets: int = 1


def write_every_format(directory: Path) -> dict[str, Expected]:
    """One of each format in ``directory``; returns key -> Expected."""
    import h5netcdf
    import h5py
    import pandas
    import pyarrow
    import pyarrow.feather
    import tifffile
    import zarr
    from PIL import Image
    from scipy.io import netcdf_file

    directory.mkdir(parents=True, exist_ok=True)
    image = numpy.arange(64, dtype="uint8").reshape(8, 8)
    tifffile.imwrite(directory / "picture.tif", image, metadata=None)
    for i in (1, 2, 10):
        tifffile.imwrite(directory / f"scan_{i}.tif", image + i)
    tifffile.imwrite(directory / "scan_3.tiff", image + 3)
    Image.fromarray(image).save(directory / "photo.png")
    Image.fromarray(image).save(directory / "still.jpg", quality=95)
    for i in (1, 2):
        Image.fromarray(image).save(directory / f"cam{i}.jpeg")
        numpy.save(directory / f"frame{i}.npy", numpy.full((3, 4), i, "f4"))
    numpy.save(directory / "array.npy", numpy.arange(10))
    with h5py.File(directory / "data.h5", "w") as f:
        f.attrs["title"] = "every format"
        f["entry/counts"] = numpy.arange(5)
    with h5netcdf.File(directory / "weather.nc", "w") as f:
        f.dimensions = {"time": 3}
        f.create_variable("time", ("time",), "i8")[:] = numpy.arange(3)
    with netcdf_file(directory / "classic.nc", "w") as f:
        f.createDimension("level", 4)
        f.createVariable("pressure", "i4", ("level",))[:] = numpy.arange(4)
    frame = pandas.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    frame.to_csv(directory / "table.csv", index=False)
    frame.to_parquet(directory / "columns.parquet")
    pyarrow.feather.write_feather(
        pyarrow.Table.from_pandas(frame), directory / "stream.arrow", compression="uncompressed"
    )
    with pandas.ExcelWriter(directory / "book.xlsx", engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Sheet1", index=False)
    store = zarr.open(str(directory / "store.zarr"), mode="w", shape=(4, 4), dtype="i4")
    store[:] = 1
    return {
        "picture": Expected("picture", "image/tiff", "array"),
        "scan_": Expected("scan_", "multipart/related;type=image/tiff", "array", 4),
        "photo": Expected("photo", "image/png", "array"),
        "still": Expected("still", "image/jpeg", "array"),
        "cam": Expected("cam", "multipart/related;type=image/jpeg", "array", 2),
        "frame": Expected("frame", "multipart/related;type=application/x-npy", "array", 2),
        "array": Expected("array", "application/x-npy", "array"),
        "data": Expected("data", "application/x-hdf5", "container"),
        "weather": Expected("weather", "application/x-netcdf", "container"),
        "classic": Expected("classic", "application/x-netcdf", "container"),
        "table": Expected("table", "text/csv", "table"),
        "columns": Expected("columns", "application/x-parquet", "table"),
        "stream": Expected("stream", "application/vnd.apache.arrow.file", "table"),
        "book": Expected("book", SHEET, "container"),
        "store": Expected("store", "application/x-zarr", "array"),
    }


MIXED_KINDS = ("tif", "npy", "h5", "csv", "png")


def write_mixed_tree(
    directory: Path, n: int, *, seed: int = 0, per_directory: int = 100
) -> dict[str, int]:
    """``n`` small files (TIFF, NPY, HDF5, CSV, PNG, in turn) in nested directories of at
    most ``per_directory`` files; the same ``seed`` gives the same tree. Returns the count
    written per kind."""
    import h5py
    import tifffile
    from PIL import Image

    rng = random.Random(seed)
    counts = dict.fromkeys(MIXED_KINDS, 0)
    for i in range(n):
        group = i // per_directory
        folder = directory / f"d{group // 10:03d}" / f"s{group % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = MIXED_KINDS[i % len(MIXED_KINDS)]
        shape = (rng.randint(2, 8), rng.randint(2, 8))
        data = numpy.arange(shape[0] * shape[1], dtype="uint16").reshape(shape)
        path = folder / f"n{i:07d}_{kind}.{kind}"  # no trailing digits: not a sequence
        if kind == "tif":
            tifffile.imwrite(path, data)
        elif kind == "npy":
            numpy.save(path, data)
        elif kind == "h5":
            with h5py.File(path, "w") as f:
                f.attrs["index"] = i
                f["data"] = data
        elif kind == "csv":
            rows = "\n".join(f"{r},{r * 0.5}" for r in range(shape[0]))
            path.write_text(f"a,b\n{rows}\n")
        else:
            Image.fromarray(data.astype("uint8")).save(path)
        counts[kind] += 1
    return counts


# -- small single files and a nested tree, for the sync driver's tests -----------------


def write_csv(path: Path, seed: int) -> None:
    path.write_text(f"x,y\n{seed},{seed * 2}\n{seed + 1},{seed * 3}\n")


def write_npy(path: Path, seed: int) -> None:
    numpy.save(path, numpy.arange(12, dtype="int32").reshape(3, 4) + seed)


def write_tiff(path: Path, seed: int) -> None:
    import tifffile

    tifffile.imwrite(path, numpy.arange(64, dtype="uint16").reshape(8, 8) + seed)


def write_h5(path: Path, seed: int) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["seed"] = seed
        f["data"] = numpy.arange(10, dtype="float64") + seed


NESTED_CONTAINERS = ("nested", ("nested", "deeper"))


def write_indexing_tree(root: Path) -> dict[str, Expected]:
    """Every format (:func:`write_every_format`) plus what a walk must handle: a nested
    directory (``nested/deeper/inner.csv``), a hidden file and an unrecognised one."""
    expected = write_every_format(root)
    nested = root / "nested" / "deeper"
    nested.mkdir(parents=True)
    write_csv(nested / "inner.csv", 2)
    (root / ".hidden.csv").write_text("a\n1\n")
    (root / "notes.txt").write_text("not data")
    return expected
