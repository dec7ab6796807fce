import numpy
import pandas
import pytest

from tiled.structures.array import ArrayStructure
from tiled.structures.container import FileContainerStructure
from tiled.structures.core import Spec, StructureFamily, specs_from_json
from tiled.structures.data_source import Asset, DataSource, Management
from tiled.structures.table import TableStructure


def test_data_source_infers_family_and_round_trips():
    source = DataSource(
        management=Management.external,
        mimetype="image/tiff",
        structure=ArrayStructure.from_array(numpy.zeros((2, 3))),
        assets=[Asset(data_uri="file:///x.tif", is_directory=False, parameter="data_uri")],
    )
    assert source.structure_family == StructureFamily.array
    assert DataSource.from_json(source.to_json()) == source


def test_container_data_source_keys():
    source = DataSource.from_json(
        {"structure_family": "container", "structure": {"keys": ["entry"]}, "mimetype": "x"}
    )
    assert source.structure == FileContainerStructure(("entry",))


def test_unknown_data_source_field_is_named():
    with pytest.raises(ValueError, match="bogus"):
        DataSource.from_json({"structure_family": "array", "bogus": 1})


def test_table_structure_from_pandas_has_schema_and_columns():
    frame = pandas.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    structure = TableStructure.from_pandas(frame)
    assert structure.columns == ("a", "b")
    assert structure.arrow_schema_decoded.names[:2] == ["a", "b"]
    assert TableStructure.from_json(structure.to_json()) == structure


def test_specs_validation():
    assert specs_from_json(["a", {"name": "b", "version": "1"}]) == [Spec("a"), Spec("b", "1")]
    with pytest.raises(ValueError, match="Duplicate"):
        specs_from_json(["a", "a"])
    with pytest.raises(ValueError, match="at most 20"):
        specs_from_json([f"s{i}" for i in range(21)])
