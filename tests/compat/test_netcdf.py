"""Checklist, NetCDF files as containers (registered with ``new()``): variables with their
dims and attributes, slices, dask and export, checked against h5netcdf reading the file."""

from __future__ import annotations

import h5netcdf
import pytest
from numpy.testing import assert_array_equal


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("netcdf", tmp_path_factory.mktemp("netcdf"))


@pytest.fixture(scope="module")
def nc(served):
    with h5netcdf.File(served.root / "data" / "sample.nc", "r") as file:
        yield {name: file[name][()] for name in ("time", "x", "temp")}


def test_no_server_errors(results):
    assert results.server_errors == []


def test_registered_with_new(served):
    assert served.setup.value("new_netcdf") == {"key": "nc", "family": "container"}


def test_variables_and_attributes(results):
    assert results.value("nc_keys") == ["temp", "time", "x"]
    # The node's metadata is what new() sent; the file's own attributes are not merged in.
    assert results.value("nc_metadata") == {"origin": "new"}


def test_variable_values_dims_and_metadata(results, nc):
    value = results.value("nc_variable")
    assert_array_equal(value["values"], nc["temp"])
    assert_array_equal(value["slice"], nc["temp"][1:, ::2])
    assert value["dims"] == ["time", "x"]
    assert value["dtype"] == "<f4"
    assert value["metadata"]["units"] == "K"
    assert_array_equal(results.value("nc_coordinate"), nc["time"])
    assert_array_equal(results.value("nc_dask"), nc["temp"])


def test_export_as_hdf5(results, nc):
    value = results.value("nc_export_hdf5")
    assert value["keys"] == ["temp", "time", "x"]
    assert_array_equal(value["temp"], nc["temp"])
    assert value["origin"] == "new"
    assert value["units"] == "K"
