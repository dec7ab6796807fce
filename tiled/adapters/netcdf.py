"""NetCDF files: a container of variables (arrays with their dimension names and
attributes) and of sub-groups.

NetCDF-4 files are HDF5 underneath: h5netcdf tells the netCDF view (which datasets are
variables, their dimensions, the attributes without HDF5 bookkeeping) and reads go
through the HDF5 adapter, by hyperslab. Classic files (``CDF\\x01``, ``CDF\\x02``) are
memory-mapped with scipy, so a slice reads only its pages. Values are served as stored:
no scale factors or masks are applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy

from ..errors import UnsupportedMimetypeError
from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase
from .attributes import json_safe_mapping
from .chunking import auto_chunks
from .containers import FileContainerBase
from .failures import read_error
from .hdf5 import HDF5DatasetAdapter, HDF5Node
from .hdf5_files import incomplete_reason as hdf5_incomplete
from .protocols import ResolvedSource
from .selection import Normalised, as_slices

_CLASSIC_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
_ERRORS = (OSError, ValueError, TypeError, KeyError, RuntimeError, IndexError)


def _open_netcdf4(path: Path) -> Any:
    import h5netcdf

    try:
        return h5netcdf.File(path, "r", locking="best-effort")
    except _ERRORS as err:
        raise read_error("the NetCDF file", err, [path]) from err


class NetCDF4GroupAdapter(FileContainerBase):
    """The file or a group: variables first, then sub-groups."""

    def __init__(
        self,
        source: ResolvedSource,
        name: str = "/",
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(specs)
        self._source = source
        self._path = source.one_path()
        self._name = name
        with _open_netcdf4(self._path) as file:
            group = file if name == "/" else file[name]
            self._groups = set(group.groups)
            self._keys = list(group.variables) + list(group.groups)
            attributes = json_safe_mapping(dict(group.attrs))
        self._metadata = metadata if metadata is not None else attributes

    def _child(self, key: str) -> NetCDF4GroupAdapter | HDF5DatasetAdapter:
        child = f"{self._name.rstrip('/')}/{key}"
        if key in self._groups:
            return NetCDF4GroupAdapter(self._source, child)
        with _open_netcdf4(self._path) as file:
            variable = file[child]
            dims = tuple(variable.dimensions)
            attributes = json_safe_mapping(dict(variable.attrs))
        node = HDF5Node(self._source, self._path, child)
        return HDF5DatasetAdapter(node, metadata=attributes, dims=dims or None)


class ClassicVariableAdapter(ArrayAdapterBase):
    """A variable of a classic-format file, read from a memory map."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__()
        self._path = path
        self._name = name
        with _open_classic(path) as file:
            variable = file.variables[name]
            self._metadata = json_safe_mapping(dict(variable._attributes))
            dtype = numpy.dtype(variable.data.dtype)
            shape = tuple(variable.shape)
            dims = tuple(variable.dimensions) or None
            del variable
        self._structure = ArrayStructure(
            data_type_from_numpy(dtype), shape, auto_chunks(shape, dtype), dims=dims
        )

    def _read(self, selection: Normalised) -> numpy.ndarray:
        with _open_classic(self._path) as file:
            try:
                data = numpy.array(file.variables[self._name].data[as_slices(selection)])
            except _ERRORS as err:
                raise read_error("the NetCDF file", err, [self._path]) from err
        return data


def _open_classic(path: Path) -> Any:
    try:
        from scipy.io import netcdf_file
    except ImportError as err:
        raise UnsupportedMimetypeError(
            "Classic (NetCDF-3) files need scipy on the server: pip install scipy"
        ) from err

    try:
        return netcdf_file(path, "r", mmap=True)
    except (*_ERRORS, EOFError) as err:
        raise read_error("the NetCDF file", err, [path]) from err


class ClassicNetCDFAdapter(FileContainerBase):
    def __init__(
        self, path: Path, metadata: dict[str, Any] | None, specs: list[Spec] | None
    ) -> None:
        super().__init__(specs)
        self._path = path
        with _open_classic(path) as file:
            self._keys = list(file.variables)
            attributes = json_safe_mapping(dict(file._attributes))
        self._metadata = metadata if metadata is not None else attributes

    def _child(self, key: str) -> ClassicVariableAdapter:
        return ClassicVariableAdapter(self._path, key)


class NetCDFAdapter:
    """Registry entry for ``application/x-netcdf`` (NetCDF-4 or classic, by magic bytes)."""

    mimetypes = ("application/x-netcdf",)
    extensions = (".nc",)

    @classmethod
    def from_source(cls, source: ResolvedSource) -> NetCDF4GroupAdapter | ClassicNetCDFAdapter:
        path = source.one_path()
        try:
            with open(path, "rb") as file:
                magic = file.read(4)
        except OSError as err:
            raise read_error("the NetCDF file", err, [path]) from err
        if magic in _CLASSIC_MAGIC:
            return ClassicNetCDFAdapter(path, source.metadata, source.specs)
        return NetCDF4GroupAdapter(source, "/", source.metadata, source.specs)

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        for path in paths:
            try:
                with open(path, "rb") as file:
                    magic = file.read(4)
            except OSError as err:
                return f"{path.name}: {err.strerror}"
            if magic not in _CLASSIC_MAGIC:
                return hdf5_incomplete([path])
        return None
