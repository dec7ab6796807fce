"""Table nodes: partitions read into pandas, column selection, columns as arrays, export."""

import io

import numpy
import pandas
import pyarrow.parquet
import pytest

from tiled.client import ArrayClient, TableClient

from .conftest import TABLE, RecordingTransport

pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def client(served):
    with served.client() as client:
        yield client


@pytest.mark.parametrize("key", ["csv", "parquet", "parts"])
def test_read_whole_table(client, key):
    table = client[key]
    assert isinstance(table, TableClient)
    frame = table.read()
    pandas.testing.assert_frame_equal(frame.reset_index(drop=True), TABLE, check_dtype=False)
    assert list(frame.index) == list(range(10))


@pytest.mark.parametrize("key", ["csv", "parquet", "parts"])
def test_column_selection_keeps_the_order_asked(client, key):
    frame = client[key].read(["c", "a"])
    assert list(frame.columns) == ["c", "a"]
    assert list(frame["a"]) == list(range(10))
    assert list(client[key].read("b").columns) == ["b"]


def test_partitions(client):
    parts = client["parts"]
    assert parts.npartitions == 2
    assert list(parts.read_partition(0)["a"]) == [0, 1, 2, 3]
    assert list(parts.read_partition(1, columns=["c"])["c"]) == list("efghij")
    assert list(parts.read_partition(-1)["a"]) == [4, 5, 6, 7, 8, 9]
    with pytest.raises(IndexError, match="partition 2 is out of range"):
        parts.read_partition(2)


def test_partition_requests(served):
    transport = RecordingTransport()
    with served.client(transport=transport) as client:
        client["parts"].read(["a", "c"])
    reads = [r for r in transport.requests if "/table/partition/" in r.url.path]
    assert [r.url.params.multi_items() for r in reads] == [
        [("partition", "0"), ("column", "a"), ("column", "c")],
        [("partition", "1"), ("column", "a"), ("column", "c")],
    ]
    assert all(r.headers["accept"] == "application/vnd.apache.arrow.file" for r in reads)


def test_unknown_column_is_key_error_without_a_request(client):
    with pytest.raises(
        KeyError, match=r"no column\(s\) \['z'\]; its columns are \['a', 'b', 'c'\]"
    ):
        client["csv"].read(["a", "z"])
    with pytest.raises(KeyError, match="no column 'z'"):
        client["csv"]["z"]


def test_column_as_array(client):
    table = client["parquet"]
    assert table.columns == ["a", "b", "c"]
    assert "b" in table
    assert list(table) == ["a", "b", "c"]
    column = table["b"]
    assert isinstance(column, ArrayClient)
    assert column.shape == (10,)
    assert numpy.allclose(column.read(), TABLE["b"].to_numpy())
    assert numpy.allclose(column[2:4], TABLE["b"].to_numpy()[2:4])
    assert client["csv/a"].read().tolist() == list(range(10))


def test_structure_and_repr(client):
    table = client["csv"]
    structure = table.structure()
    assert structure.columns == ("a", "b", "c")
    assert structure.arrow_schema_decoded.field("b").type == "double"
    assert repr(table) == "<TableClient ['a', 'b', 'c']>"


def test_export(client, tmp_path):
    table = client["parts"]
    table.export(tmp_path / "t.csv")
    pandas.testing.assert_frame_equal(pandas.read_csv(tmp_path / "t.csv"), TABLE)
    table.export(tmp_path / "t.parquet", columns=["a"])
    assert pyarrow.parquet.read_table(tmp_path / "t.parquet").column_names[0] == "a"
    buffer = io.BytesIO()
    table.export(buffer, format="json", columns=["c"])
    assert b'"c":["a","b"' in buffer.getvalue()
