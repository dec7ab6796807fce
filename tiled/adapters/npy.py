"""NPY files, memory-mapped so that a slice reads only the pages under it, and NPY
sequences (one file per frame)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy

from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase, changed_shape
from .chunking import auto_chunks
from .failures import read_error
from .protocols import ResolvedSource
from .selection import Normalised, as_slices
from .sequences import FrameSequenceAdapter

_ERRORS = (ValueError, OSError, EOFError, TypeError)


def load_npy(path: Path, what: str = "the NPY file") -> numpy.ndarray:
    """A read-only memory map (nothing is read until it is indexed); 0-d arrays in memory."""
    try:
        array: numpy.ndarray = numpy.load(path, mmap_mode="r", allow_pickle=False)
    except _ERRORS as err:
        raise read_error(what, err, [path]) from err
    return array


def npy_header(path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any], int]:
    """(shape, dtype, offset of the data) from the header alone."""
    from numpy.lib import format as npy_format

    try:
        with open(path, "rb") as file:
            version = npy_format.read_magic(file)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(file)
            else:  # 2.0 and 3.0 share a layout (3.0 allows UTF-8 field names)
                shape, _, dtype = npy_format.read_array_header_2_0(file)
            return tuple(shape), numpy.dtype(dtype), file.tell()
    except _ERRORS as err:
        raise read_error("the NPY file", err, [path]) from err


class NPYAdapter(ArrayAdapterBase):
    mimetypes = ("application/x-npy",)
    extensions = (".npy",)

    def __init__(
        self,
        path: Path,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(structure, metadata, specs)
        self._path = path

    @classmethod
    def from_source(cls, source: ResolvedSource) -> NPYAdapter:
        return cls(source.one_path(), source.structure, source.metadata, source.specs)

    def _inspect(self) -> ArrayStructure:
        shape, dtype, _ = npy_header(self._path)
        return ArrayStructure(data_type_from_numpy(dtype), shape, auto_chunks(shape, dtype))

    def _read(self, selection: Normalised) -> numpy.ndarray:
        array = load_npy(self._path)
        if array.shape != self.structure().shape:
            raise changed_shape(array.shape, self.structure().shape)
        try:
            return numpy.array(array[as_slices(selection)])
        except _ERRORS as err:
            raise read_error("the NPY file", err, [self._path]) from err

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        for path in paths:
            try:
                shape, dtype, offset = npy_header(path)
                size = path.stat().st_size
            except (OSError, ValueError) as err:
                return f"{path.name}: {err}"
            expected = offset + math.prod(shape) * dtype.itemsize
            if size < expected:
                return f"{path.name}: {size} of {expected} bytes written"
        return None


class NPYSequenceAdapter(FrameSequenceAdapter):
    """N NPY files, one frame each, as an (N, ...) array with one block per file."""

    mimetypes = ("multipart/related;type=application/x-npy",)

    @classmethod
    def from_source(cls, source: ResolvedSource) -> NPYSequenceAdapter:
        return cls(source.paths, source.structure, source.metadata, source.specs)

    def _frame_layout(self, path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
        shape, dtype, _ = npy_header(path)
        return shape, dtype

    def _read_frame(self, path: Path) -> numpy.ndarray:
        array = load_npy(path, "an NPY frame")
        try:
            return numpy.array(array)
        except _ERRORS as err:
            raise read_error("an NPY frame", err, [path]) from err

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        return NPYAdapter.incomplete_reason(paths)
