"""Partitions are sent with the registered schema: its column types and, when it has one,
its pandas metadata, so a client rebuilding pandas dtypes gets the ones it was promised
(the official client checks each partition against them)."""

import pandas
import pyarrow

from tiled.adapters.registry import open_adapter
from tiled.structures.table import TableStructure


def test_partition_carries_the_registered_pandas_dtypes(tmp_path):
    frame = pandas.DataFrame({"a": [1, 2, 3], "c": ["x", "y", "z"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    registered = frame.astype({"c": "string"})  # as a client with other pandas saw it
    schema = pyarrow.Schema.from_pandas(registered, preserve_index=False)
    structure = TableStructure.from_schema(schema, 1)
    adapter = open_adapter("text/csv", [tmp_path / "t.csv"], structure=structure)
    part = adapter.read_partition(0).to_pandas()
    assert str(part["c"].dtype) == "string"
    assert part["a"].tolist() == [1, 2, 3]
    assert part["c"].tolist() == ["x", "y", "z"]
    columns = adapter.read_partition(0, ["c"]).to_pandas()
    assert list(columns.columns) == ["c"]
    assert str(columns["c"].dtype) == "string"


def test_partition_without_registered_pandas_metadata_keeps_its_own(tmp_path):
    frame = pandas.DataFrame({"a": [1.5, 2.5]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    schema = pyarrow.schema([("a", pyarrow.float64())])  # no pandas metadata
    adapter = open_adapter(
        "text/csv", [tmp_path / "t.csv"], structure=TableStructure.from_schema(schema, 1)
    )
    assert adapter.read_partition(0).to_pandas()["a"].tolist() == [1.5, 2.5]
