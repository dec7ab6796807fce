"""Checklist, HDF5 files as containers: groups, nested paths, metadata, big-endian and scalar
datasets, checked against h5py reading the file."""

from __future__ import annotations

import h5py
import numpy
import pytest
from numpy.testing import assert_array_equal

from .conftest import differs_on_tiled
from .tree import H5_TITLE, many_metadata


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("hdf5", tmp_path_factory.mktemp("hdf5"))


@pytest.fixture(scope="module")
def h5(served):
    with h5py.File(served.root / "data" / "nested.h5", "r") as file:
        yield {
            "counts": file["entry/data/counts"][()],
            "scalar": file["entry/data/scalar"][()],
            "top": file["top"][()],
            "chunks": file["entry/data/counts"].chunks,
        }


def test_no_server_errors(results):
    assert results.server_errors == []


def test_file_is_a_container_of_its_top_level_names(results, served, request):
    differs_on_tiled(request, served, "len() of a registered HDF5 file is 0 (meta.count)")
    assert results.value("h5_metadata") == {"title": H5_TITLE}
    assert results.value("h5_len") == 2
    assert results.value("h5_keys") == ["entry", "top"]
    assert results.value("h5_items") == [["entry", "container"], ["top", "array"]]


def test_group(results):
    value = results.value("h5_group")
    assert value["keys"] == ["data"]
    assert value["family"] == "container"
    # Tiled also copies the file's root attributes into group metadata; we report the
    # group's own attributes (docs/compatibility.md).
    assert value["metadata"]["NX_class"] == "NXentry"


def test_nested_group(results):
    assert results.value("h5_nested_group") == {"keys": ["counts", "scalar"], "len": 2}


def test_nested_dataset_path(results, h5):
    value = results.value("h5_nested_path")
    assert_array_equal(value["values"], h5["counts"])
    assert_array_equal(value["slice"], h5["counts"][2:4, ::3])
    assert value["metadata"] == {"units": "counts"}
    assert value["chunks"] == [[5, 5], [5, 5]]
    assert_array_equal(value["block"], h5["counts"][5:10, 0:5])
    assert_array_equal(results.value("h5_path_from_root"), h5["counts"][9])
    assert_array_equal(results.value("h5_dask"), h5["counts"])


def test_scalar_dataset_is_shape_1(results, h5):
    value = results.value("h5_scalar")
    assert value["shape"] == [1]
    assert_array_equal(value["values"], numpy.asarray(h5["scalar"]).reshape(1))


def test_big_endian_dataset_stays_big_endian(results, h5):
    value = results.value("h5_big_endian")
    assert value["dtype"] == ">i4"
    assert value["endianness"] == "big"
    assert value["values"].dtype == numpy.dtype(">i4")
    assert_array_equal(value["values"], h5["top"])
    assert_array_equal(value["slice"], h5["top"][1, 1:])


def test_missing_child_is_key_error(results):
    results.raised("h5_missing_child", "builtins.KeyError")


def test_key_lookup_inside_a_file(results):
    assert results.value("h5_search_by_key") == ["top"]


def test_export_as_hdf5(results, h5):
    value = results.value("h5_export_hdf5")
    assert value["keys"] == ["entry", "top"]
    assert value["title"] == H5_TITLE
    assert_array_equal(value["counts"], h5["counts"])
    assert value["units"] == "counts"
    assert_array_equal(value["top"], h5["top"])
    assert value["top_dtype"] == ">i4"


def test_export_as_json(results):
    tree = results.value("h5_export_json")
    assert tree["metadata"] == {"title": H5_TITLE}
    assert sorted(tree["contents"]) == ["entry", "top"]
    data = tree["contents"]["entry"]["contents"]["data"]["contents"]
    assert data["counts"] == {"contents": {}, "metadata": {"units": "counts"}}
    assert sorted(data) == ["counts", "scalar"]
    fields = results.value("h5_export_fields")
    assert fields["contents"] == {"top": {"contents": {}, "metadata": {}}}


def test_catalog_container_export(results):
    assert results.value("catalog_container_export_json") == {
        "contents": {},
        "metadata": many_metadata(1),
    }
