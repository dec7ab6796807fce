"""Checklist, "Reading data" for tables: what the official client reads equals what pandas
reads from the CSV, Parquet and Excel files themselves."""

from __future__ import annotations

import io
import json

import numpy
import pandas
import pytest


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("tables", tmp_path_factory.mktemp("tables"))


@pytest.fixture(scope="module")
def csv(served):
    return pandas.read_csv(served.root / "data" / "table.csv")


@pytest.fixture(scope="module")
def parts(served):
    return [pandas.read_parquet(served.root / "data" / f"part{i}.parquet") for i in range(2)]


def assert_frame(actual, expected):
    """Same columns, values and numeric dtypes (string columns may be str or object)."""
    actual = actual.reset_index(drop=True)
    expected = expected.reset_index(drop=True)
    pandas.testing.assert_frame_equal(actual, expected, check_dtype=False)
    for column in expected.columns:
        if expected[column].dtype.kind in "iuf":
            assert actual[column].dtype == expected[column].dtype, column


def test_no_server_errors(results):
    assert results.server_errors == []


def test_csv_read(results, csv):
    assert_frame(results.value("csv_read"), csv)
    assert_frame(results.value("csv_read_columns"), csv[["a", "c"]])


def test_csv_read_partition(results, csv):
    assert_frame(results.value("csv_read_partition"), csv)


def test_csv_read_partition_columns(results, csv):
    assert_frame(results.value("csv_read_partition_columns"), csv[["b"]])


def test_csv_columns(results):
    assert results.value("csv_columns") == {"columns": ["a", "b", "c"], "iter": ["a", "b", "c"]}


def test_column_as_array(results, csv):
    value = results.value("csv_column_as_array")
    assert value["family"] == "array"
    numpy.testing.assert_array_equal(value["values"], csv["b"].to_numpy())
    assert results.value("csv_string_column") == ["x", "y", "z"]


def test_missing_column_is_key_error(results):
    results.raised("csv_missing_column", "builtins.KeyError")


def test_csv_dask(results, csv):
    value = results.value("csv_dask")
    assert value["type"] == "DataFrame"
    assert_frame(value["values"], csv)


def test_csv_dask_partition(results, csv):
    assert_frame(results.value("csv_dask_partition"), csv)


def test_parquet_files_are_partitions(results, parts):
    assert_frame(results.value("parquet_read"), pandas.concat(parts))
    value = results.value("parquet_partitions")
    assert value["npartitions"] == 2
    assert_frame(value["p0"], parts[0])
    assert_frame(value["p1"], parts[1][["y"]])
    assert_frame(results.value("parquet_dask"), pandas.concat(parts))


def test_excel_sheets_are_tables(results, served):
    assert results.value("excel_sheets") == {"keys": ["Sheet1"], "family": "container"}
    expected = pandas.read_excel(served.root / "data" / "sheet.xlsx", sheet_name="Sheet1")
    assert_frame(results.value("excel_sheet_read"), expected)


def test_export_csv(results, csv):
    assert_frame(pandas.read_csv(io.StringIO(results.value("export_csv"))), csv)
    assert_frame(pandas.read_csv(io.StringIO(results.value("export_columns"))), csv[["a", "b"]])


def test_export_json(results, csv):
    assert json.loads(results.value("export_json")) == csv.to_dict(orient="list")


def test_export_parquet(results, csv):
    assert_frame(results.value("export_parquet"), csv)
