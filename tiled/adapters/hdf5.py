"""HDF5 files: groups are containers, datasets are arrays, attributes are metadata.

Opening a file or a group reads only object headers: a dataset's values are read when
(and only where) a request asks for them, as one hyperslab. Scalar datasets are served
with shape ``[1]``; variable-length strings as fixed-width unicode; compound types as
structured dtypes. Soft and external links and virtual datasets are followed each time a
node is opened, and their targets must lie inside the readable directories.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy

from ..errors import DataGoneError, NotFoundError, UnsupportedOperationError
from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase, string_dtype_for
from .attributes import json_safe
from .chunking import chunks_from_shape
from .containers import FileContainerBase
from .failures import read_error
from .hdf5_files import check_links_target, incomplete_reason, open_file, open_object
from .protocols import ResolvedSource
from .selection import Normalised, as_slices, forward, result_shape

_PLAIN_KINDS = frozenset("biufc")
"""Numeric dtypes (no strings, records, references), read straight into the result."""
_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, RuntimeError, IndexError)


def attributes(obj: h5py.HLObject) -> dict[str, Any]:
    """An object's attributes as JSON-safe metadata; an unreadable one is reported, not fatal."""
    result: dict[str, Any] = {}
    # By index: iterating by name reopens the object with default access properties,
    # which HDF5 refuses for datasets opened by ``open_object``.
    count = h5py.h5a.get_num_attrs(obj.id)
    for index in range(count):
        name = h5py.h5a.open(obj.id, index=index).name.decode("utf-8", errors="replace")
        try:
            result[str(name)] = json_safe(obj.attrs[name])
        except (OSError, TypeError, ValueError) as err:
            result[str(name)] = f"<unreadable attribute: {type(err).__name__}>"
    return result


def servable_dtype(dataset: h5py.Dataset) -> numpy.dtype[Any]:
    """The fixed-layout dtype a dataset is served as (strings need their values' width)."""
    dtype = dataset.dtype
    string = h5py.check_string_dtype(dtype)
    if string is not None and string.length is None:
        values = dataset.asstr()[()] if dataset.shape != () else [dataset.asstr()[()]]
        return string_dtype_for(numpy.asarray(values, dtype=object))
    if dtype.kind == "O" or _has_objects(dtype):
        kind = "object references" if h5py.check_ref_dtype(dtype) else "variable-length values"
        raise UnsupportedOperationError(
            f"The HDF5 dataset {dataset.name!r} holds {kind}, which cannot be served as an array"
        )
    base = h5py.check_enum_dtype(dtype)
    served: numpy.dtype[Any] = numpy.dtype(dtype.str) if base is not None else dtype
    return served


def _has_objects(dtype: numpy.dtype[Any]) -> bool:
    if dtype.fields is None:
        return dtype.kind == "O" or (dtype.subdtype is not None and dtype.subdtype[0].kind == "O")
    return any(_has_objects(field[0]) for field in dtype.fields.values())


def dataset_structure(dataset: h5py.Dataset, dims: Sequence[str] | None = None) -> ArrayStructure:
    dtype = servable_dtype(dataset)
    if dataset.shape is None:  # an HDF5 "null" dataspace: no elements at all
        shape: tuple[int, ...] = (0,)
    else:
        shape = tuple(dataset.shape) or (1,)
    native = dataset.chunks if dataset.shape else None
    chunks = chunks_from_shape(shape, native, dtype.itemsize)
    names = tuple(dims) if dims is not None else None
    return ArrayStructure(data_type_from_numpy(dtype), shape, chunks, dims=names)


class HDF5Node:
    """Where an object lives: the file it is reached from and its path through links."""

    def __init__(self, source: ResolvedSource, path: Path, name: str) -> None:
        self.source = source
        self.path = path
        self.name = name

    def child(self, key: str) -> HDF5Node:
        return HDF5Node(self.source, self.path, f"{self.name.rstrip('/')}/{key}")

    def open(self, file: h5py.File) -> Any:
        """The object at ``name``, following links (and checking where they lead)."""
        try:
            obj = open_object(file, self.name)
        except KeyError as err:
            raise DataGoneError(
                f"{self.name!r} cannot be resolved inside the HDF5 file: it is a broken link "
                "or was removed after registration"
            ) from err
        except (OSError, ValueError, RuntimeError) as err:
            raise read_error(f"{self.name!r} in the HDF5 file", err, [self.path]) from err
        check_links_target(obj, self.source, self.path)
        return obj


class HDF5DatasetAdapter(ArrayAdapterBase):
    """One dataset, read by hyperslab."""

    def __init__(
        self,
        node: HDF5Node,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
        dims: Sequence[str] | None = None,
    ) -> None:
        super().__init__(structure, metadata, specs)
        self._node = node
        self._dims = dims

    def _with_dataset(self, func: Any) -> Any:
        with open_file(self._node.path) as file:
            dataset = self._node.open(file)
            if not isinstance(dataset, h5py.Dataset):
                raise DataGoneError(f"{self._node.name!r} is no longer a dataset")
            try:
                return func(dataset)
            except _READ_ERRORS as err:
                raise read_error("the HDF5 dataset", err, [self._node.path]) from err

    def _read_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self._with_dataset(attributes)
        return metadata

    def _inspect(self) -> ArrayStructure:
        return self._with_dataset(lambda d: dataset_structure(d, self._dims))  # type: ignore[no-any-return]

    def _read(self, selection: Normalised) -> numpy.ndarray:
        return self._with_dataset(lambda d: read_dataset(d, selection))  # type: ignore[no-any-return]


def read_dataset(dataset: h5py.Dataset, selection: Normalised) -> numpy.ndarray:
    """``dataset[selection]`` with numpy semantics (h5py has no negative steps)."""
    string = h5py.check_string_dtype(dataset.dtype)
    source = dataset.asstr() if string is not None and string.length is None else dataset
    if dataset.shape is None:
        return numpy.empty((0,), dataset.dtype)[as_slices(selection)]
    if dataset.shape == ():
        return numpy.asarray(source[()]).reshape(1)[as_slices(selection)]
    index, flips = forward(selection)
    if dataset.dtype.kind in _PLAIN_KINDS and math.prod(result_shape(selection)):
        # Into an uninitialised array: h5py's own indexing zero-fills its result first,
        # which costs about a sixth of reading a large, cached hyperslab.
        data = numpy.empty(result_shape(selection), dataset.dtype)
        dataset.read_direct(data, index)
    else:
        data = numpy.asarray(source[index])
    return numpy.flip(data, flips) if flips else data


class HDF5GroupAdapter(FileContainerBase):
    """A group (or the whole file): children are groups and datasets, opened lazily."""

    def __init__(
        self,
        node: HDF5Node,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
        *,
        group: h5py.Group | None = None,
    ) -> None:
        """``group``: the group already open (saves opening the file again)."""
        super().__init__(specs)
        self._node = node
        if group is not None:
            self._load(group, metadata)
            return
        with open_file(node.path) as file:
            group = node.open(file)
            if not isinstance(group, h5py.Group):
                raise DataGoneError(f"{node.name!r} is no longer a group")
            self._load(group, metadata)

    def _load(self, group: h5py.Group, metadata: dict[str, Any] | None) -> None:
        self._keys = _resolvable_keys(group, self._node)
        self._metadata = metadata if metadata is not None else attributes(group)

    def __getitem__(self, key: str) -> HDF5GroupAdapter | HDF5DatasetAdapter:
        # Not only the listed keys: a link left out of the listing (its target missing
        # or outside the readable directories) gives its own clear error by name.
        node = self._node.child(key)
        with open_file(node.path) as file:
            group = self._node.open(file)
            if group.get(key, getlink=True) is None:
                raise NotFoundError(f"No such entry: {key!r}")
            obj = node.open(file)
            is_group = isinstance(obj, h5py.Group)
        return HDF5GroupAdapter(node) if is_group else HDF5DatasetAdapter(node)


def _is_hard_link(links: Any, key: str) -> bool:
    try:
        return bool(links.get_info(key.encode("utf-8")).type == h5py.h5l.TYPE_HARD)
    except (KeyError, ValueError, RuntimeError, OSError):  # left to the general path
        return False


def _resolvable_keys(group: h5py.Group, node: HDF5Node) -> list[str]:
    """Member names, leaving out links whose target is missing or, as far as the link
    tells, outside the readable directories (opening one by name gives a clear error)."""
    keys = []
    links = group.id.links
    for key in group:
        if _is_hard_link(links, key):
            keys.append(key)  # the common case, told by the link's type alone
            continue
        link = group.get(key, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            target = Path(group.file.filename).parent / link.filename
            if not target.is_file():
                continue
            try:
                node.source.check_readable(target, "link")
            except PermissionError:
                continue
        if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
            try:
                if group.get(key, getclass=True) is None:
                    continue
            except (KeyError, OSError, ValueError, RuntimeError):
                continue
        keys.append(key)
    return keys


class HDF5Adapter:
    """Registry entry for ``application/x-hdf5``: the whole file, or the node named by the
    ``dataset`` (or ``path``) parameter."""

    mimetypes = ("application/x-hdf5",)
    extensions = (".h5", ".hdf5", ".hdf", ".nxs")

    @classmethod
    def from_source(cls, source: ResolvedSource) -> HDF5GroupAdapter | HDF5DatasetAdapter:
        path = source.one_path()
        inner = str(source.parameters.get("dataset") or source.parameters.get("path") or "")
        node = HDF5Node(source, path, "/" + inner.strip("/"))
        with open_file(path) as file:
            # The root of the file just opened needs no lookup and no check of where
            # links led (it is that file): what node.open would answer, cheaper.
            obj = file["/"] if node.name == "/" else node.open(file)
            if isinstance(obj, h5py.Group):
                return HDF5GroupAdapter(node, source.metadata, source.specs, group=obj)
        structure = source.structure if isinstance(source.structure, ArrayStructure) else None
        return HDF5DatasetAdapter(node, structure, source.metadata, source.specs)

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        return incomplete_reason(paths)
