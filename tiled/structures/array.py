"""Array structure: data type, shape, chunk grid and dimension names.

The JSON forms follow ``spec/structures.md`` §2.2. Only numpy is used, for dtypes;
it is imported where used, so that a server starts (and answers) before loading it.
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy


__all__ = [
    "ArrayStructure",
    "BuiltinDtype",
    "Endianness",
    "Field",
    "Kind",
    "StructDtype",
    "data_type_from_json",
]


class Endianness(enum.StrEnum):
    little = "little"
    big = "big"
    not_applicable = "not_applicable"


class Kind(enum.StrEnum):
    """numpy's one-letter dtype kinds, as named on the wire."""

    bit_field = "t"
    boolean = "b"
    integer = "i"
    unsigned_integer = "u"
    floating_point = "f"
    complex_floating_point = "c"
    timedelta = "m"
    datetime = "M"
    string = "S"
    unicode = "U"
    other = "V"


_NATIVE = "little" if sys.byteorder == "little" else "big"
_ORDER_CHARS = {"little": "<", "big": ">", "not_applicable": "|"}


def _endianness_of(dtype: numpy.dtype[Any]) -> Endianness:
    order = dtype.byteorder
    if order == "|" or (dtype.itemsize == 1 and dtype.kind != "U"):
        return Endianness.not_applicable
    if order == "=":
        return Endianness(_NATIVE)
    return Endianness.little if order == "<" else Endianness.big


@dataclass(frozen=True)
class BuiltinDtype:
    """A scalar numpy data type described without numpy (byte order, kind, size, units)."""

    endianness: Endianness
    kind: Kind
    itemsize: int
    dt_units: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "endianness", Endianness(self.endianness))
        object.__setattr__(self, "kind", Kind(self.kind))
        if not isinstance(self.itemsize, int) or self.itemsize < 0:
            raise ValueError(f"itemsize must be a non-negative integer, not {self.itemsize!r}")

    @classmethod
    def from_numpy_dtype(cls, dtype: numpy.dtype[Any] | str | type) -> BuiltinDtype:
        import numpy

        dtype = numpy.dtype(dtype)
        if dtype.fields is not None:
            raise ValueError(f"{dtype} is a structured dtype; use StructDtype.from_numpy_dtype")
        if dtype.kind == "O":
            raise ValueError("Object arrays (dtype 'O') cannot be described or served")
        dt_units = None
        if dtype.kind in "mM":
            unit, count = numpy.datetime_data(dtype)
            dt_units = f"[{'' if count == 1 else count}{unit}]"
        return cls(_endianness_of(dtype), Kind(dtype.kind), dtype.itemsize, dt_units)

    def to_numpy_str(self) -> str:
        if self.kind == Kind.bit_field:
            raise ValueError("Bit-field dtypes have no numpy equivalent")
        size = self.itemsize // 4 if self.kind == Kind.unicode else self.itemsize
        return f"{_ORDER_CHARS[self.endianness.value]}{self.kind.value}{size}{self.dt_units or ''}"

    def to_numpy_dtype(self) -> numpy.dtype[Any]:
        import numpy

        return numpy.dtype(self.to_numpy_str())

    def to_json(self) -> dict[str, Any]:
        return {
            "endianness": self.endianness.value,
            "kind": self.kind.value,
            "itemsize": self.itemsize,
            "dt_units": self.dt_units,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BuiltinDtype:
        _reject_unknown(value, {"endianness", "kind", "itemsize", "dt_units"}, "data_type")
        return cls(value["endianness"], value["kind"], value["itemsize"], value.get("dt_units"))


@dataclass(frozen=True)
class Field:
    """One named member of a structured (record) dtype."""

    name: str
    dtype: BuiltinDtype | StructDtype
    shape: tuple[int, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype.to_json(),
            "shape": list(self.shape) if self.shape is not None else None,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Field:
        _reject_unknown(value, {"name", "dtype", "shape"}, "field")
        shape = value.get("shape")
        return cls(
            value["name"],
            data_type_from_json(value["dtype"]),
            tuple(shape) if shape is not None else None,
        )


@dataclass(frozen=True)
class StructDtype:
    """A packed numpy record dtype, field by field."""

    itemsize: int
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))

    @classmethod
    def from_numpy_dtype(cls, dtype: numpy.dtype[Any]) -> StructDtype:
        import numpy

        dtype = numpy.dtype(dtype)
        if dtype.fields is None:
            raise ValueError(f"{dtype} is not a structured dtype")
        fields = []
        for name in dtype.names or ():
            member = dtype.fields[name][0]
            shape: tuple[int, ...] | None = None
            if member.subdtype is not None:
                member, shape = member.subdtype
            inner: BuiltinDtype | StructDtype = (
                cls.from_numpy_dtype(member)
                if member.fields is not None
                else BuiltinDtype.from_numpy_dtype(member)
            )
            fields.append(Field(name, inner, shape))
        return cls(dtype.itemsize, tuple(fields))

    def to_numpy_dtype(self) -> numpy.dtype[Any]:
        import numpy

        members = []
        for f in self.fields:
            inner = f.dtype.to_numpy_dtype()
            members.append((f.name, inner, f.shape) if f.shape else (f.name, inner))
        return numpy.dtype(members)

    def to_json(self) -> dict[str, Any]:
        return {"itemsize": self.itemsize, "fields": [f.to_json() for f in self.fields]}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> StructDtype:
        _reject_unknown(value, {"itemsize", "fields"}, "data_type")
        return cls(value["itemsize"], tuple(Field.from_json(f) for f in value["fields"]))


DataType = BuiltinDtype | StructDtype


def data_type_from_json(value: dict[str, Any] | DataType) -> DataType:
    """Parse either kind of data type; a ``fields`` key marks a StructDtype."""
    if isinstance(value, BuiltinDtype | StructDtype):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"data_type must be an object, not {value!r}")
    if "fields" in value:
        return StructDtype.from_json(value)
    return BuiltinDtype.from_json(value)


def data_type_from_numpy(dtype: numpy.dtype[Any]) -> DataType:
    import numpy

    dtype = numpy.dtype(dtype)
    if dtype.fields is not None:
        return StructDtype.from_numpy_dtype(dtype)
    return BuiltinDtype.from_numpy_dtype(dtype)


@dataclass(frozen=True)
class ArrayStructure:
    """Everything a client needs to read an array: dtype, shape and the block grid.

    ``chunks[d]`` lists the lengths of the blocks along dimension ``d``; they sum to
    ``shape[d]``. Sequences given as lists are stored as tuples.
    """

    data_type: DataType
    shape: tuple[int, ...]
    chunks: tuple[tuple[int, ...], ...]
    dims: tuple[str, ...] | None = None
    resizable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_type", data_type_from_json(self.data_type))
        shape = tuple(_as_int(n, "shape") for n in self.shape)
        chunks = tuple(tuple(_as_int(c, "chunks") for c in dim) for dim in self.chunks)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "chunks", chunks)
        if self.dims is not None:
            object.__setattr__(self, "dims", tuple(str(d) for d in self.dims))
        self._validate()

    def _validate(self) -> None:
        if any(n < 0 for n in self.shape):
            raise ValueError(f"shape {list(self.shape)} has a negative length")
        if len(self.chunks) != len(self.shape):
            raise ValueError(
                f"chunks has {len(self.chunks)} dimensions but shape has {len(self.shape)}"
            )
        for axis, (length, dim_chunks) in enumerate(zip(self.shape, self.chunks, strict=True)):
            if sum(dim_chunks) != length or any(c < 0 for c in dim_chunks):
                raise ValueError(
                    f"chunks along dimension {axis} {list(dim_chunks)} do not add up to "
                    f"the shape's length {length}"
                )
        if self.dims is not None and len(self.dims) != len(self.shape):
            raise ValueError(f"dims {list(self.dims)} must name each of {len(self.shape)} axes")
        if self.resizable not in (False, None):
            raise ValueError("Resizable arrays are not supported; send resizable=false")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.data_type.itemsize

    def block_shape(self, block: Sequence[int]) -> tuple[int, ...]:
        """Shape of the block at grid position ``block``; IndexError if outside the grid."""
        if len(block) != self.ndim:
            raise IndexError(f"block needs {self.ndim} indexes, got {len(block)}")
        shape = []
        for axis, (index, dim_chunks) in enumerate(zip(block, self.chunks, strict=True)):
            if not 0 <= index < len(dim_chunks):
                raise IndexError(
                    f"block index {index} on dimension {axis} is outside 0..{len(dim_chunks) - 1}"
                )
            shape.append(dim_chunks[index])
        return tuple(shape)

    def block_offset(self, block: Sequence[int]) -> tuple[int, ...]:
        """Index of the first element of ``block`` along each dimension."""
        return tuple(sum(dim[:i]) for i, dim in zip(block, self.chunks, strict=True))

    @classmethod
    def from_array(
        cls,
        array: Any,
        chunks: Sequence[Sequence[int]] | None = None,
        dims: Sequence[str] | None = None,
    ) -> ArrayStructure:
        """Describe an in-memory array; one block unless ``chunks`` is given."""
        shape = tuple(array.shape)
        if chunks is None:
            chunks = tuple((n,) for n in shape)
        return cls(data_type_from_numpy(array.dtype), shape, tuple(map(tuple, chunks)), dims)

    def to_json(self) -> dict[str, Any]:
        return {
            "data_type": self.data_type.to_json(),
            "chunks": [list(c) for c in self.chunks],
            "shape": list(self.shape),
            "dims": list(self.dims) if self.dims is not None else None,
            "resizable": False,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ArrayStructure:
        _reject_unknown(value, {"data_type", "chunks", "shape", "dims", "resizable"}, "structure")
        missing = {"data_type", "chunks", "shape"} - set(value)
        if missing:
            raise ValueError(f"Array structure is missing {sorted(missing)}")
        return cls(
            data_type=data_type_from_json(value["data_type"]),
            shape=tuple(value["shape"]),
            chunks=tuple(tuple(c) for c in value["chunks"]),
            dims=tuple(value["dims"]) if value.get("dims") is not None else None,
            resizable=value.get("resizable", False),
        )


def _as_int(value: Any, what: str) -> int:
    import numpy

    if isinstance(value, bool) or not isinstance(value, int | numpy.integer):
        raise ValueError(f"{what} must contain integers, found {value!r}")
    return int(value)


def _reject_unknown(value: dict[str, Any], allowed: set[str], what: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object, not {type(value).__name__}")
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(f"Unknown field(s) in {what}: {sorted(unknown)}")
