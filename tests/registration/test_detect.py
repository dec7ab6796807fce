"""Formats by name (compound suffixes, overrides) and by content (magic bytes, Zarr)."""

import shutil
import zipfile

import h5py
import numpy
import pytest
import tifffile

from tiled.registration.detect import (
    HDF5,
    NETCDF,
    SHEET,
    ZARR,
    extension_table,
    mimetype_by_name,
    sniff_directory,
    sniff_file,
    suffixes,
)
from tiled.testing.trees import write_every_format


def test_suffixes_longest_first():
    assert suffixes("scan.ome.TIF") == [".ome.tif", ".tif"]
    assert suffixes("plain") == []
    assert suffixes("odd..csv") == [".csv"]


def test_by_name_compound_and_overrides():
    table = extension_table({".ome.tif": "application/x-npy", "DAT": "text/csv"})
    assert mimetype_by_name("a.ome.tif", table) == "application/x-npy"
    assert mimetype_by_name("a.tif", table) == "image/tiff"
    assert mimetype_by_name("A.H5", table) == HDF5
    assert mimetype_by_name("notes.txt", table) is None  # text/plain has no reader
    assert mimetype_by_name("noext", table) is None


@pytest.fixture(scope="module")
def every(tmp_path_factory):
    directory = tmp_path_factory.mktemp("every")
    write_every_format(directory)
    return directory


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("picture.tif", "image/tiff"),
        ("photo.png", "image/png"),
        ("still.jpg", "image/jpeg"),
        ("array.npy", "application/x-npy"),
        ("data.h5", HDF5),
        ("weather.nc", HDF5),  # NetCDF-4 is HDF5 inside; the HDF5 reader reads it
        ("classic.nc", NETCDF),
        ("columns.parquet", "application/x-parquet"),
        ("stream.arrow", "application/vnd.apache.arrow.file"),
        ("book.xlsx", SHEET),
        ("table.csv", None),  # text: no magic
    ],
)
def test_sniff_without_extension(every, tmp_path, name, expected):
    bare = tmp_path / "bare"
    shutil.copy(every / name, bare)
    assert sniff_file(bare) == expected


def test_sniff_hdf5_after_user_block_and_bigtiff(tmp_path):
    with h5py.File(tmp_path / "ub", "w", userblock_size=1024) as f:
        f["x"] = [1]
    assert sniff_file(tmp_path / "ub") == HDF5
    tifffile.imwrite(tmp_path / "big", numpy.zeros((4, 4), "u1"), bigtiff=True)
    assert sniff_file(tmp_path / "big") == "image/tiff"
    tifffile.imwrite(tmp_path / "motorola", numpy.zeros((4, 4), ">u2"), byteorder=">")
    assert sniff_file(tmp_path / "motorola") == "image/tiff"


def test_sniff_plain_zip_and_garbage_are_unknown(tmp_path):
    with zipfile.ZipFile(tmp_path / "z", "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert sniff_file(tmp_path / "z") is None
    (tmp_path / "g").write_bytes(numpy.random.default_rng(0).bytes(5000))
    assert sniff_file(tmp_path / "g") is None
    (tmp_path / "empty").write_bytes(b"")
    assert sniff_file(tmp_path / "empty") is None


def test_sniff_zarr_directories(every, tmp_path):
    import zarr

    assert sniff_directory(every / "store.zarr") == ZARR
    zarr.open(str(tmp_path / "v2"), mode="w", shape=(2,), dtype="i4", zarr_format=2)
    assert sniff_directory(tmp_path / "v2") == ZARR
    zarr.open_group(str(tmp_path / "group"), mode="w", zarr_format=2)
    assert sniff_directory(tmp_path / "group") == ZARR
    (tmp_path / "plain").mkdir()
    assert sniff_directory(tmp_path / "plain") is None
