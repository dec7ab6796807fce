"""Whole-container exports (``/container/full``): a tree of metadata as JSON, or the
tree's data as one HDF5 file.

The server first plans the export (:class:`ExportNode`, sizes known from structures,
nothing read), so that an export over the limits is refused before any data is read;
the HDF5 writer then reads one array part or one table at a time into a temporary file.

The shapes follow Tiled: JSON is ``{"contents": {key: {...}}, "metadata": {...}}`` with
no data (arrays are ``{"contents": {}, "metadata": ...}``, a table's columns are its
contents); in HDF5, containers and tables are groups, arrays and columns are datasets,
and metadata becomes attributes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import orjson

from ..adapters.selection import as_slices, normalise, pieces
from ..structures.core import StructureFamily

if TYPE_CHECKING:
    import numpy

PART_BYTES = 8 * 1024**2
"""Arrays are copied into the HDF5 file in parts of about this size."""


@dataclass
class ExportNode:
    """One node of a planned export; ``adapter`` reads the data of arrays and tables."""

    key: str
    family: StructureFamily
    metadata: dict[str, Any]
    name: str  # the node's path, for error messages
    children: list[ExportNode] = field(default_factory=list)
    adapter: Any = None
    columns: list[str] = field(default_factory=list)
    nbytes: int = 0


def as_json(root: ExportNode) -> bytes:
    """The tree's metadata in Tiled's container JSON shape."""

    def entry(node: ExportNode) -> dict[str, Any]:
        if node.family == StructureFamily.table:
            contents = {c: {"contents": {}, "metadata": {}} for c in node.columns}
        else:
            contents = {child.key: entry(child) for child in node.children}
        return {"contents": contents, "metadata": node.metadata}

    return orjson.dumps(entry(root), option=orjson.OPT_SERIALIZE_NUMPY)


def write_hdf5(
    root: ExportNode, file: IO[bytes], check: Callable[[ExportNode], None] | None = None
) -> None:
    """Write the tree and its data to ``file`` (blocking; reads the adapters).

    ``check`` is called before each array or table is read (e.g. to stop when the client
    has gone away).
    """
    import h5py

    with h5py.File(file, mode="w") as h5:
        set_attributes(h5, root.metadata)
        for child in root.children:
            _write(h5, child, check)


def _write(group: Any, node: ExportNode, check: Callable[[ExportNode], None] | None) -> None:
    if check is not None and node.family != StructureFamily.container:
        check(node)
    if node.family == StructureFamily.container:
        sub = group.create_group(node.key)
        set_attributes(sub, node.metadata)
        for child in node.children:
            _write(sub, child, check)
    elif node.family == StructureFamily.table:
        sub = group.create_group(node.key)
        set_attributes(sub, node.metadata)
        table = node.adapter.read(None)
        for name in table.column_names:
            sub.create_dataset(name, data=column_values(table.column(name)))
    else:
        dataset = _write_array(group, node)
        set_attributes(dataset, node.metadata)


def _write_array(group: Any, node: ExportNode) -> Any:
    structure = node.adapter.structure()
    shape = tuple(structure.shape)
    dtype = structure.data_type.to_numpy_dtype()
    if dtype.kind in "biufc" and dtype.fields is None and math.prod(shape) > 0:
        dataset = group.create_dataset(node.key, shape=shape, dtype=dtype)
        for part in pieces(normalise((), shape), dtype.itemsize, PART_BYTES):
            where = as_slices(part)
            dataset[where] = node.adapter.read(where)
        return dataset
    return group.create_dataset(node.key, data=storable(node.adapter.read(())))


def storable(array: numpy.ndarray) -> numpy.ndarray:
    """``array`` in a dtype HDF5 can hold: text becomes variable-length UTF-8 strings,
    dates and times their ISO text."""
    import h5py
    import numpy

    kind = array.dtype.kind
    if kind in "UOmM":
        text = array.astype(str) if kind in "mM" else array
        values = [v if isinstance(v, str | bytes) else str(v) for v in text.ravel().tolist()]
        out = numpy.empty(len(values), dtype=h5py.string_dtype())
        out[:] = values
        return out.reshape(array.shape)
    return array


def column_values(column: Any) -> numpy.ndarray:
    """A pyarrow column as an array HDF5 can hold (nulls in text become empty strings)."""
    import numpy
    import pyarrow
    import pyarrow.compute

    if pyarrow.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type):
        column = pyarrow.compute.fill_null(column, "")
    return storable(numpy.asarray(column.to_numpy()))


def set_attributes(obj: Any, metadata: dict[str, Any]) -> None:
    """Metadata as HDF5 attributes; values HDF5 cannot hold (mappings, nulls, mixed lists)
    are stored as their JSON text."""
    for key, value in metadata.items():
        try:
            obj.attrs[key] = _attribute(value)
        except (TypeError, ValueError):
            obj.attrs[key] = json.dumps(value, default=str)


def _attribute(value: Any) -> Any:
    import numpy

    if isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, list | tuple) and value:
        array = numpy.asarray(value)
        if array.dtype.kind in "biuf":
            return array
        if array.dtype.kind == "U" and all(isinstance(v, str) for v in value):
            import h5py

            return numpy.array(value, dtype=h5py.string_dtype())
    return json.dumps(value, default=str)
