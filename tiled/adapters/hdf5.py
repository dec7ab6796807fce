"""HDF5 files: groups are containers, datasets are arrays, attributes are metadata.

Opening reads only headers; a read touches only the hyperslab asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy

from ..errors import DataBusyError, DataUnavailableError, NotFoundError
from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.container import FileContainerStructure
from ..structures.core import Spec, StructureFamily
from .array_base import ArrayAdapterBase
from .chunking import MAX_BLOCK_BYTES, regular_chunks
from .protocols import Selection


def json_safe(value: Any) -> Any:
    """Attribute values as JSON: bytes to str, numpy scalars and arrays to Python values."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, numpy.ndarray):
        return [json_safe(v) for v in value.tolist()] if value.size <= 1000 else None
    if isinstance(value, numpy.generic):
        return json_safe(value.item())
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not numpy.isfinite(value):
        return str(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def attributes(obj: h5py.HLObject) -> dict[str, Any]:
    try:
        return {str(k): json_safe(v) for k, v in obj.attrs.items()}
    except (OSError, TypeError) as err:
        return {"_unreadable_attributes": str(err)}


def open_file(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r", locking=True)
    except BlockingIOError as err:
        raise DataBusyError("the HDF5 file is open for writing", retry_after=2) from err
    except OSError as err:
        if "lock" in str(err).lower():
            raise DataBusyError("the HDF5 file is open for writing", retry_after=2) from err
        raise DataUnavailableError(f"the HDF5 file cannot be opened ({err})") from err


def dataset_chunks(dataset: h5py.Dataset) -> tuple[tuple[int, ...], ...]:
    """The dataset's native chunking (one block if contiguous), with the first axis split
    further when a block would exceed MAX_BLOCK_BYTES. Scalars are served as shape [1]."""
    shape = dataset.shape or (1,)
    sizes = list(dataset.chunks or shape) if dataset.shape else [1]
    block_bytes = int(numpy.prod(sizes)) * dataset.dtype.itemsize
    if block_bytes > MAX_BLOCK_BYTES:
        row_bytes = block_bytes // max(sizes[0], 1)
        sizes[0] = max(1, MAX_BLOCK_BYTES // max(row_bytes, 1))
    return tuple(regular_chunks(n, c) for n, c in zip(shape, sizes, strict=True))


class HDF5DatasetAdapter(ArrayAdapterBase):
    """One dataset; scalar datasets are served with shape [1]."""

    def __init__(
        self, path: Path, name: str, dataset: h5py.Dataset, structure: ArrayStructure | None = None
    ) -> None:
        super().__init__(attributes(dataset))
        self._path = path
        self._name = name
        if structure is None:
            shape = dataset.shape or (1,)
            data_type = data_type_from_numpy(_servable(dataset.dtype, dataset))
            structure = ArrayStructure(data_type, shape, dataset_chunks(dataset))
        self._structure = structure
        self._scalar = dataset.shape == ()

    def structure(self) -> ArrayStructure:
        return self._structure

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        with open_file(self._path) as file:
            dataset = file[self._name]
            try:
                data = numpy.asarray(dataset[()]).reshape(1) if self._scalar else None
                if data is None:
                    data = h5_select(dataset, selection) if selection else dataset[()]
                elif selection:
                    data = data[selection]
            except (OSError, ValueError, TypeError) as err:
                raise DataUnavailableError(f"the HDF5 dataset cannot be read ({err})") from err
        return _to_servable(numpy.asarray(data), self._structure)


def h5_select(dataset: h5py.Dataset, selection: Selection) -> numpy.ndarray:
    """``dataset[selection]`` with numpy semantics; h5py lacks negative steps."""
    fixed: list[int | slice] = []
    flips: list[int] = []
    out_axis = 0
    for length, item in zip(dataset.shape, selection, strict=False):
        if isinstance(item, int):
            fixed.append(item % length if length else item)
            continue
        start, stop, step = item.indices(length)
        if step < 0:
            span = range(start, stop, step)
            fixed.append(slice(span[-1], span[0] + 1, -step) if span else slice(0, 0))
            flips.append(out_axis)
        else:
            fixed.append(slice(start, stop, step))
        out_axis += 1
    data = numpy.asarray(dataset[tuple(fixed)])
    for axis in flips:
        data = numpy.flip(data, axis)
    return data


def _servable(dtype: numpy.dtype[Any], dataset: h5py.Dataset) -> numpy.dtype[Any]:
    """Variable-length strings become fixed-width unicode sized to the longest value."""
    if dtype.kind != "O":
        return dtype
    values = numpy.asarray(dataset[()]).ravel()
    longest = max((len(v.decode() if isinstance(v, bytes) else str(v)) for v in values), default=1)
    return numpy.dtype(f"<U{max(longest, 1)}")


def _to_servable(data: numpy.ndarray, structure: ArrayStructure) -> numpy.ndarray:
    wanted = structure.data_type.to_numpy_dtype()
    if data.dtype.kind == "O":
        decoded = [v.decode() if isinstance(v, bytes) else str(v) for v in data.ravel()]
        return numpy.array(decoded, dtype=wanted).reshape(data.shape)
    return data


class HDF5GroupAdapter:
    """A group (or the whole file): children are groups and datasets, read lazily."""

    structure_family = StructureFamily.container

    def __init__(
        self,
        path: Path,
        name: str = "/",
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        self._path = path
        self._name = name
        with open_file(path) as file:
            group = file[name]
            self._keys = list(group.keys())
            self._metadata = metadata if metadata is not None else attributes(group)
        self._specs = list(specs or [])

    def structure(self) -> FileContainerStructure:
        return FileContainerStructure(tuple(self._keys))

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def specs(self) -> list[Spec]:
        return self._specs

    def keys(self) -> list[str]:
        return list(self._keys)

    def __getitem__(self, key: str) -> HDF5GroupAdapter | HDF5DatasetAdapter:
        if key not in self._keys:
            raise NotFoundError(f"No such entry: {key!r}")
        child = f"{self._name.rstrip('/')}/{key}"
        with open_file(self._path) as file:
            try:
                obj = file[child]
            except KeyError as err:
                raise DataUnavailableError(f"the link {key!r} is broken") from err
            if isinstance(obj, h5py.Group):
                return HDF5GroupAdapter(self._path, child)
            return HDF5DatasetAdapter(self._path, child, obj)


def open_hdf5(
    path: Path,
    parameters: dict[str, Any],
    metadata: dict[str, Any] | None,
    specs: list[Spec] | None,
    structure: Any,
) -> Any:
    """The whole file, or the node named by ``parameters["dataset"]``."""
    inner = parameters.get("dataset") or parameters.get("path")
    root = HDF5GroupAdapter(path, "/", metadata, specs)
    if not inner:
        return root
    node: Any = root
    for part in str(inner).strip("/").split("/"):
        node = node[part]
    return node
