"""Checklist, registration through the official client (the ``setup`` script that builds
the served tree): the documented example, ``register()`` of every format, ``new()`` with an
explicit data source and ``create_container``. Reads of what they registered are checked
in test_arrays.py, test_tables.py and test_hdf5.py."""

from __future__ import annotations

import pytest

FAMILIES = {
    "image": "array",
    "seq": "array",
    "h5": "container",
    "csv": "table",
    "pq": "table",
    "arr": "array",
    "zarr": "array",
    "xlsx": "container",
}


def test_official_client_is_the_pypi_package(served):
    tiled = served.setup.value("__tiled__")
    assert tiled["version"] == served.official.version
    assert str(served.official.python.parent.parent) in tiled["file"]


def test_setup_caused_no_server_errors(served):
    assert served.setup.server_errors == []


def test_documented_example_registers_with_a_server_assigned_key(served):
    key = served.setup.value("documented_example")
    assert isinstance(key, str)
    assert len(key) >= 8


def test_create_container(served):
    assert served.setup.value("create_manual") == {
        "id": "manual",
        "metadata": {"purpose": "compat", "nested": {"level": 1}},
        "specs": ["ManualSpec"],
    }


@pytest.mark.parametrize("key", list(FAMILIES))
def test_register_method(served, key):
    assert served.setup.value(f"register_{key}") == {
        "key": key,
        "family": f"StructureFamily.{FAMILIES[key]}",
    }


def test_new_with_explicit_data_source(served):
    value = served.setup.value("new_npy")
    assert value["key"] == "small"
    assert value["links"]["block"].endswith("/array/block/manual/small?block={0}")
    assert value["links"]["full"].endswith("/array/full/manual/small")


def test_many_containers(served):
    assert served.setup.value("create_many") == 120
