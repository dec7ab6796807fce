"""Checklist, "Reading data" for arrays: what the official client reads equals what numpy,
tifffile and zarr read from the files themselves."""

from __future__ import annotations

import json

import numpy
import pytest
import tifffile
from numpy.testing import assert_array_equal

from .conftest import differs_on_tiled


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("arrays", tmp_path_factory.mktemp("arrays"))


@pytest.fixture(scope="module")
def files(served):
    data = served.root / "data"
    return {
        "arr": numpy.load(data / "volume.npy"),
        "image": tifffile.imread(data / "image.tif"),
        "seq": numpy.stack([tifffile.imread(p) for p in sorted((data / "tiff_seq").iterdir())]),
        "example": numpy.stack(
            [tifffile.imread(served.root / "example" / f"image{i}.tiff") for i in (1, 2)]
        ),
    }


def assert_same(actual, expected):
    """Equal values, shape and dtype (byte order included)."""
    assert_array_equal(actual, expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype


def test_no_server_errors(results):
    assert results.server_errors == []


@pytest.mark.parametrize(
    ("check", "selection"),
    [
        ("npy_read", ()),
        ("npy_int_index", numpy.s_[1]),
        ("npy_int_and_slice", numpy.s_[0, 1:3]),
        ("npy_step_and_negative_index", numpy.s_[:, ::2, -1]),
        ("npy_ellipsis", numpy.s_[..., 0]),
        ("npy_negative_slice_bounds", numpy.s_[-1:, -2:, 1:-1]),
        ("npy_read_with_slice", numpy.s_[1, :, 2:]),
    ],
)
def test_npy_reads_and_slices(results, files, check, selection):
    assert_same(results.value(check), files["arr"][selection])


def test_npy_blocks(results, files, served, request):
    differs_on_tiled(request, served, "500 for read_block with a slice on NPY")
    assert_same(results.value("npy_read_block"), files["arr"])
    assert_same(results.value("npy_read_block_slice"), files["arr"][1, :2])


def test_npy_dask(results, files):
    value = results.value("npy_dask")
    assert value["type"] == "Array"
    assert_same(value["values"], files["arr"])
    assert_same(value["slice"], files["arr"][1, 1:])


def test_tiff(results, files):
    assert_same(results.value("tiff_read"), files["image"])
    assert_same(results.value("tiff_slice"), files["image"][2:5, ::3])
    structure = results.value("tiff_structure")
    assert structure["shape"] == list(files["image"].shape)
    assert structure["chunks"] == [[10], [12]]
    assert structure["dtype"] == "<u2"
    assert "shape" in json.loads(structure["description"])  # tifffile's description tag


def test_tiff_sequence(results, files):
    assert_same(results.value("seq_read"), files["seq"])
    assert_same(results.value("seq_slice"), files["seq"][1:, 2, ::2])
    assert_same(results.value("seq_dask"), files["seq"])
    assert results.value("seq_structure") == {
        "shape": [3, 10, 12],
        "chunks": [[1, 1, 1], [10], [12]],
        "dtype": "|u1",
    }


def test_tiff_sequence_blocks_are_files(results, files):
    for i, block in enumerate(results.value("seq_blocks")):
        assert_same(block, files["seq"][i : i + 1])
    assert_same(results.value("seq_block_slice"), files["seq"][2:3][0, 3:5])


@pytest.fixture(scope="module")
def zarr_array(served):
    import zarr

    return zarr.open_array(str(served.root / "data" / "store.zarr"), mode="r")[:]


def test_zarr(results, zarr_array):
    assert_same(results.value("zarr_read"), zarr_array)
    assert_same(results.value("zarr_slice"), zarr_array[3:6, 1::2])


def test_zarr_blocks_are_native_chunks(results, zarr_array):
    value = results.value("zarr_blocks")
    assert value["chunks"] == [[4, 4], [3, 3]]
    assert_same(value["block_1_0"], zarr_array[4:8, 0:3])
    assert_same(value["block_0_1"], zarr_array[0:4, 3:6])


def test_documented_example_reads_back(results, files):
    value = results.value("documented_example_read")
    assert_same(value["full"], files["example"])
    assert_same(value["part"], files["example"][1, 100:110, :])
    assert value["dims"] == ["time", "x", "y"]
    assert value["dtype"] == "<i4"


def test_export_json(results, files):
    assert json.loads(results.value("export_json")) == files["arr"].tolist()
    assert json.loads(results.value("export_json_media_type")) == files["arr"].tolist()


def test_export_csv(results, files):
    rows = [list(map(int, line.split(","))) for line in results.value("export_csv_2d").split()]
    assert rows == files["image"].tolist()
    rows = [list(map(int, line.split(","))) for line in results.value("export_csv_slice").split()]
    assert rows == files["arr"][0].tolist()
