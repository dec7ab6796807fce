import numpy
import pytest

from tiled.structures.array import ArrayStructure, BuiltinDtype, StructDtype, data_type_from_json


@pytest.mark.parametrize(
    ("dtype", "wire"),
    [
        ("<u2", {"endianness": "little", "kind": "u", "itemsize": 2, "dt_units": None}),
        ("|u1", {"endianness": "not_applicable", "kind": "u", "itemsize": 1, "dt_units": None}),
        (">i4", {"endianness": "big", "kind": "i", "itemsize": 4, "dt_units": None}),
        ("<M8[ns]", {"endianness": "little", "kind": "M", "itemsize": 8, "dt_units": "[ns]"}),
        ("<m8[10s]", {"endianness": "little", "kind": "m", "itemsize": 8, "dt_units": "[10s]"}),
        ("<U5", {"endianness": "little", "kind": "U", "itemsize": 20, "dt_units": None}),
        ("|S3", {"endianness": "not_applicable", "kind": "S", "itemsize": 3, "dt_units": None}),
        ("?", {"endianness": "not_applicable", "kind": "b", "itemsize": 1, "dt_units": None}),
        ("<c16", {"endianness": "little", "kind": "c", "itemsize": 16, "dt_units": None}),
    ],
)
def test_builtin_dtype_round_trip(dtype, wire):
    built = BuiltinDtype.from_numpy_dtype(numpy.dtype(dtype))
    assert built.to_json() == wire
    assert BuiltinDtype.from_json(wire).to_numpy_dtype() == numpy.dtype(dtype)


def test_object_dtype_is_refused():
    with pytest.raises(ValueError, match="Object arrays"):
        BuiltinDtype.from_numpy_dtype(numpy.dtype("O"))


def test_struct_dtype_round_trip():
    dtype = numpy.dtype([("x", "<f8"), ("y", ">i2", (3,)), ("inner", [("a", "u1")])])
    struct = StructDtype.from_numpy_dtype(dtype)
    again = data_type_from_json(struct.to_json())
    assert isinstance(again, StructDtype)
    assert again.to_numpy_dtype() == dtype
    assert again.itemsize == dtype.itemsize


def test_array_structure_documented_example():
    structure = ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(numpy.dtype("int32")),
        shape=(2, 512, 512),
        chunks=((1, 1), (512,), (512,)),
        dims=("time", "x", "y"),
    )
    wire = structure.to_json()
    assert wire["chunks"] == [[1, 1], [512], [512]]
    assert wire["dims"] == ["time", "x", "y"]
    assert wire["resizable"] is False
    assert ArrayStructure.from_json(wire) == structure
    assert structure.block_shape((1, 0, 0)) == (1, 512, 512)
    assert structure.block_offset((1, 0, 0)) == (1, 0, 0)
    with pytest.raises(IndexError, match="outside"):
        structure.block_shape((2, 0, 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shape": (4,), "chunks": ((3,),)}, "do not add up"),
        ({"shape": (4,), "chunks": ((4,), (1,))}, "dimensions"),
        ({"shape": (4,), "chunks": ((4,),), "dims": ("a", "b")}, "dims"),
        ({"shape": ("x",), "chunks": ((4,),)}, "integers"),
    ],
)
def test_array_structure_rejects_inconsistent_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArrayStructure(data_type=BuiltinDtype.from_numpy_dtype("f8"), **kwargs)


def test_unknown_fields_are_rejected():
    wire = ArrayStructure.from_array(numpy.zeros(3)).to_json()
    wire["surprise"] = 1
    with pytest.raises(ValueError, match="surprise"):
        ArrayStructure.from_json(wire)
