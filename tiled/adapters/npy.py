"""NPY files (memory-mapped, so a slice reads only its pages) and NPY sequences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy

from ..errors import DataUnavailableError
from ..structures.array import ArrayStructure
from ..structures.core import Spec
from .array_base import ArrayAdapterBase
from .chunking import auto_chunks
from .protocols import Selection
from .sequences import read_frames


def _load(path: Path) -> numpy.ndarray:
    try:
        return numpy.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataUnavailableError(f"the NPY file cannot be read ({err})") from err


class NPYAdapter(ArrayAdapterBase):
    def __init__(
        self,
        path: Path,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(metadata, specs)
        self._path = path
        if structure is None:
            array = _load(path)
            structure = ArrayStructure.from_array(
                array, chunks=auto_chunks(array.shape, array.dtype)
            )
        self._structure = structure

    def structure(self) -> ArrayStructure:
        return self._structure

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        array = _load(self._path)
        if array.shape != self._structure.shape:
            raise DataUnavailableError("the NPY file changed shape after registration")
        return numpy.array(array[selection] if selection else array)


class NPYSequenceAdapter(ArrayAdapterBase):
    def __init__(
        self,
        paths: Sequence[Path],
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(metadata, specs)
        self._paths = list(paths)
        if structure is None:
            first = _load(self._paths[0])
            shape = (len(self._paths), *first.shape)
            chunks = ((1,) * len(self._paths), *((n,) for n in first.shape))
            structure = ArrayStructure.from_array(first, chunks=None)
            structure = ArrayStructure(structure.data_type, shape, chunks)
        self._structure = structure

    def structure(self) -> ArrayStructure:
        return self._structure

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        return read_frames(
            self._paths, self._structure, selection, lambda p: numpy.asarray(_load(p))
        )
