"""Arrays made of one file per frame (TIFF, JPEG, PNG, NPY sequences), and the natural
ordering of numbered file names.

A sequence of N frames of shape S is an array of shape (N, *S) with one block per file,
so a block request opens exactly one file and a slice opens only the frames it covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataGoneError
from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase, conform_dtype
from .chunking import frame_chunks
from .selection import Normalised, as_slices, first_axis_indexes

if TYPE_CHECKING:
    import numpy

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str | Path) -> tuple[Any, ...]:
    """Sort key that orders numbers by value: ``frame_2`` before ``frame_10``.

    Text parts compare case-insensitively, then the original name breaks ties, so the
    order is total and stable across platforms.
    """
    text = name.name if isinstance(name, Path) else str(name)
    parts = _DIGITS.split(text)
    key: list[tuple[int, Any]] = []
    for i, part in enumerate(parts):
        if i % 2:
            key.append((1, int(part)))
        elif part:
            key.append((0, part.casefold()))
    return (tuple(key), text)


def natural_sorted(names: Iterable[str | Path]) -> list[Any]:
    """``names`` (strings or paths) in natural order: by the numbers in them, by value."""
    return sorted(names, key=natural_key)


class FrameSequenceAdapter(ArrayAdapterBase):
    """Base of the ``multipart/related;type=...`` readers: one frame per file.

    Subclasses implement ``_frame_layout(path) -> (shape, dtype)`` from headers only and
    ``_read_frame(path) -> ndarray``.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(structure, metadata, specs)
        self._paths = paths  # kept lazy: a frame's file is checked when it is read

    def _frame_layout(self, path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
        raise NotImplementedError

    def _read_frame(self, path: Path) -> numpy.ndarray:
        raise NotImplementedError

    def _inspect(self) -> ArrayStructure:
        shape, dtype = self._frame_layout(self._paths[0])
        return ArrayStructure(
            data_type_from_numpy(dtype),
            (len(self._paths), *shape),
            frame_chunks(len(self._paths), shape, dtype.itemsize),
        )

    def _read(self, selection: Normalised) -> numpy.ndarray:
        import numpy

        structure = self.structure()
        frame_shape = structure.shape[1:]
        dtype = structure.data_type.to_numpy_dtype()
        indexes, dropped = first_axis_indexes(selection)
        inner = as_slices(selection[1:])
        frames = (self._frame(i, frame_shape, dtype)[inner] for i in indexes)
        if dropped:
            return next(frames)
        if len(indexes) == 1:  # one block: the frame itself, no copy into a new array
            return next(frames)[numpy.newaxis]
        probe = numpy.empty(frame_shape, dtype)[inner]
        out = numpy.empty((len(indexes), *probe.shape), dtype)
        for position, frame in enumerate(frames):
            out[position] = frame
        return out

    def _frame(
        self, index: int, frame_shape: tuple[int, ...], dtype: numpy.dtype[Any]
    ) -> numpy.ndarray:
        if index >= len(self._paths):
            raise DataGoneError(
                f"frame {index} is registered but the sequence now has {len(self._paths)} files"
            )
        data = self._read_frame(self._paths[index])
        if data.shape != frame_shape:
            raise DataGoneError(
                f"frame {index} has shape {list(data.shape)}, but the sequence is registered "
                f"with frames of shape {list(frame_shape)}; it changed after registration"
            )
        return data if data.dtype == dtype else conform_dtype(data, dtype)
