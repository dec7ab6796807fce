"""Checklist, "Browsing": containers as mappings, key views, node attributes."""

from __future__ import annotations

import pytest

from .tree import MANY, many_metadata

KEYS = [f"n{i:03d}" for i in range(MANY)]
MANUAL = ["image", "seq", "h5", "csv", "pq", "arr", "zarr", "xlsx", "small", "nc"]  # setup order


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("browse", tmp_path_factory.mktemp("browse"))


def test_no_server_errors(results):
    assert results.server_errors == []


def test_len_counts_exactly(results):
    assert results.value("len_many") == MANY


def test_iteration_pages_through_all_children(results):
    assert results.value("list_many") == KEYS


def test_contains(results):
    assert results.value("contains") == {"present": True, "absent": False}


def test_getitem(results):
    assert results.value("getitem_key") == {"metadata": many_metadata(7), "family": "container"}


@pytest.mark.parametrize(
    ("check", "i"), [("getitem_nested_path", 8), ("getitem_tuple", 9), ("getitem_chained", 10)]
)
def test_getitem_paths(results, check, i):
    assert results.value(check) == many_metadata(i)


@pytest.mark.parametrize("check", ["getitem_missing", "getitem_missing_nested"])
def test_missing_key_is_key_error(results, check):
    results.raised(check, "builtins.KeyError")


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ("keys_slice", KEYS[2:5]),
        ("keys_first", KEYS[0]),
        ("keys_last", KEYS[-1]),
        ("keys_head", KEYS[:3]),
        ("keys_tail", KEYS[-3:]),
        ("keys_negative_index", KEYS[-2]),
        ("keys_index", KEYS[105]),
        ("keys_slice_across_pages", KEYS[95:105]),
    ],
)
def test_key_views(results, check, expected):
    assert results.value(check) == expected


def test_items_slice(results):
    assert results.value("items_slice") == [[KEYS[i], many_metadata(i)] for i in range(10, 13)]


def test_values_first_and_last(results):
    assert results.value("values_first") == many_metadata(0)
    assert results.value("values_last") == many_metadata(MANY - 1)


def test_root_listing_in_creation_order(results, served):
    expected = [served.setup.value("documented_example"), "manual", "many"]
    assert results.value("root_listing") == expected


def test_registered_children_in_registration_order(results, served):
    # zarr and xlsx are listed once their formats register (see test_registration.py).
    registered = [k for k in MANUAL if "error" not in served.setup.raw.get(f"register_{k}", {})]
    assert results.value("manual_listing") == registered


def test_container_attributes(results):
    value = results.value("container_attributes")
    assert value["metadata"] == {"purpose": "compat", "nested": {"level": 1}}
    assert value["specs"] == [["ManualSpec", None]]
    assert value["family"] == "container"
    assert value["structure"]["contents"] is None
    assert value["structure"]["count"] == len(results.value("manual_listing"))
    assert value["sorting"] == [{"key": "", "direction": 1}]
    assert "application/json" in value["formats"]


def test_array_attributes(results, served):
    import numpy

    volume = numpy.load(served.root / "data" / "volume.npy")
    value = results.value("array_attributes")
    assert value["metadata"] == {"color": "blue"}
    assert value["family"] == "array"
    assert value["shape"] == value["node_shape"] == list(volume.shape)
    assert value["dtype"] == value["node_dtype"] == volume.dtype.str
    assert value["chunks"] == [[n] for n in volume.shape]
    assert value["dims"] is None
    assert {"application/octet-stream", "application/json", "text/csv"} <= set(value["formats"])
    assert value["repr"].startswith("<ArrayClient shape=(2, 3, 4)")


def test_new_keeps_metadata_specs_and_dims(results):
    assert results.value("new_array_attributes") == {
        "metadata": {"origin": "new"},
        "specs": ["NpySpec"],
        "dims": ["t"],
    }


def test_table_attributes(results):
    value = results.value("table_attributes")
    assert value["family"] == "table"
    assert value["columns"] == value["node_columns"] == value["arrow_names"] == ["a", "b", "c"]
    assert value["npartitions"] == 1
    assert "application/vnd.apache.arrow.file" in value["formats"]


def test_data_sources(results, served):
    (source,) = results.value("data_sources")
    uri = (served.root / "data" / "volume.npy").as_uri()
    assert source["mimetype"] == "application/x-npy"
    assert source["structure_family"] == "array"
    assert source["shape"] == [2, 3, 4]
    assert len(source["assets"]) == 1
    data_uri, is_directory, parameter, num = source["assets"][0]
    assert data_uri.replace("file://localhost/", "file:///") == uri
    assert (is_directory, parameter, num) == (False, "data_uri", None)


def test_data_sources_on_a_listing(results):
    value = results.value("data_sources_on_listing")
    assert value
    assert all(n == 1 for n in value.values())
