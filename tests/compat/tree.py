"""The data tree the compatibility suite serves: one small file per format, written with the
real libraries, shaped like the tree the spec's captures were made over.

Expected values in the tests come from reading these files back with numpy, pandas, h5py,
tifffile, zarr and openpyxl, never from our own server or client.
"""

from __future__ import annotations

from pathlib import Path

import numpy

H5_TITLE = "nested h5"
NC_TITLE = "compat netcdf"


def write_tree(root: Path) -> Path:
    """Write every file under ``root/data`` and return that directory."""
    data = root / "data"
    data.mkdir(parents=True)
    _write_images(data)
    _write_hdf5(data / "nested.h5")
    _write_tables(data)
    numpy.save(data / "volume.npy", numpy.arange(2 * 3 * 4, dtype="<i8").reshape(2, 3, 4))
    _write_zarr(data / "store.zarr")
    _write_netcdf(data / "sample.nc")
    deeper = data / "sub" / "deeper"
    deeper.mkdir(parents=True)
    numpy.save(deeper / "small.npy", numpy.linspace(0, 1, 5))
    _write_documented_example(root / "example")
    return data


def _write_images(data: Path) -> None:
    import tifffile

    rng = numpy.random.default_rng(11)
    image = rng.integers(0, 4000, (10, 12), dtype="uint16")
    tifffile.imwrite(data / "image.tif", image, description="compat image")
    (data / "tiff_seq").mkdir()
    for i in range(3):
        frame = rng.integers(0, 255, (10, 12), dtype="uint8")
        tifffile.imwrite(data / "tiff_seq" / f"img_{i:05d}.tif", frame)


def _write_hdf5(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as file:
        file.attrs["title"] = H5_TITLE
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        group = entry.create_group("data")
        counts = group.create_dataset(
            "counts", data=numpy.arange(100, dtype="float64").reshape(10, 10), chunks=(5, 5)
        )
        counts.attrs["units"] = "counts"
        group.create_dataset("scalar", data=3.5)
        file.create_dataset("top", data=numpy.arange(6, dtype=">i4").reshape(2, 3))


def _write_tables(data: Path) -> None:
    import openpyxl
    import pandas

    frame = pandas.DataFrame({"a": [1, 2, 3], "b": [1.5, 2.5, 3.5], "c": ["x", "y", "z"]})
    frame.to_csv(data / "table.csv", index=False)
    for i in range(2):
        part = pandas.DataFrame({"x": numpy.arange(4) + 10 * i, "y": numpy.linspace(0, 1, 4) + i})
        part.to_parquet(data / f"part{i}.parquet", index=False)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(["n", "sq"])
    for n in range(1, 5):
        sheet.append([n, n * n])
    book.save(data / "sheet.xlsx")
    book.close()


def _write_netcdf(path: Path) -> None:
    """NetCDF-4 as xarray writes it (h5netcdf): dimensions, coordinates, attributes."""
    import h5netcdf

    with h5netcdf.File(path, "w") as file:
        file.attrs["title"] = NC_TITLE
        file.dimensions = {"time": 3, "x": 4}
        time = file.create_variable("time", ("time",), "i8")
        time[:] = [10, 20, 30]
        x = file.create_variable("x", ("x",), "f8")
        x[:] = numpy.linspace(0, 1, 4)
        temp = file.create_variable("temp", ("time", "x"), "f4")
        temp[:] = numpy.arange(12, dtype="f4").reshape(3, 4) + 273
        temp.attrs["units"] = "K"


def _write_zarr(path: Path) -> None:
    import zarr

    array = zarr.create_array(
        str(path), shape=(8, 6), chunks=(4, 3), dtype="float32", zarr_format=3
    )
    array[:] = numpy.arange(48, dtype="float32").reshape(8, 6)


def _write_documented_example(directory: Path) -> None:
    """The two (1, 512, 512)-frame TIFFs of the documented example (issue 2)."""
    import tifffile

    directory.mkdir()
    frames = numpy.random.default_rng(7).integers(-(2**31), 2**31 - 1, (2, 512, 512), "int32")
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(directory / f"image{i}.tiff", frame)


def many_metadata(i: int) -> dict[str, object]:
    """Metadata of ``many/n{i:03d}``, the 120-node container for paging, search and sort."""
    colors = ("red", "green", "blue")
    return {
        "i": i,
        "color": colors[i % 3],
        "tags": ["even" if i % 2 == 0 else "odd", f"t{i % 5}"],
        "sample": {"name": f"Ni{i}", "temperature": 280 + i % 7},
        "text": "the quick brown fox" if i % 10 == 0 else f"lazy dog number {i}",
        **({"flag": True} if i % 4 == 0 else {}),
    }


def many_specs(i: int) -> list[str]:
    return ["even"] if i % 2 == 0 else ["odd", "prime"] if i in (3, 5, 7) else ["odd"]


MANY = 120
