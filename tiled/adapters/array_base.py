"""Shared array behaviour: block reads expressed as reads of a region."""

from __future__ import annotations

from typing import Any

import numpy

from ..errors import InvalidSliceError
from ..structures.array import ArrayStructure
from ..structures.core import Spec, StructureFamily
from .protocols import Selection


def block_region(structure: ArrayStructure, block: tuple[int, ...]) -> tuple[slice, ...]:
    """The slices of the whole array that make up ``block``."""
    try:
        shape = structure.block_shape(block)
    except IndexError as err:
        raise InvalidSliceError(str(err)) from err
    offset = structure.block_offset(block)
    return tuple(slice(o, o + n) for o, n in zip(offset, shape, strict=True))


class ArrayAdapterBase:
    """Subclasses implement ``structure()`` and ``read(selection)``; blocks come free."""

    structure_family = StructureFamily.array

    def __init__(self, metadata: dict[str, Any] | None = None, specs: list[Spec] | None = None):
        self._metadata = dict(metadata or {})
        self._specs = list(specs or [])

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def specs(self) -> list[Spec]:
        return self._specs

    def structure(self) -> ArrayStructure:
        raise NotImplementedError

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        raise NotImplementedError

    def read_block(self, block: tuple[int, ...], selection: Selection = ()) -> numpy.ndarray:
        """Read the whole block (bounded by the chunking) and select inside it in memory."""
        data = self.read(block_region(self.structure(), block))
        return data[selection] if selection else data
