"""TIFF files (one page or a stack of pages) and TIFF sequences (one file per frame)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import tifffile

from ..errors import DataUnavailableError
from ..structures.array import ArrayStructure, BuiltinDtype
from ..structures.core import Spec
from .array_base import ArrayAdapterBase
from .protocols import Selection
from .sequences import normalise_selection, read_frames

_SKIPPED_TAGS = {"StripOffsets", "StripByteCounts", "TileOffsets", "TileByteCounts"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, tuple | list):
        return [_json_safe(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _open(path: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(path)
    except (tifffile.TiffFileError, OSError, ValueError) as err:
        raise DataUnavailableError(f"the TIFF file cannot be opened ({err})") from err


def tiff_metadata(path: Path) -> dict[str, Any]:
    """Tag name → value of the first page (offset tables left out: they are noise)."""
    with _open(path) as tif:
        return {
            tag.name: _json_safe(tag.value)
            for tag in tif.pages.first.tags.values()
            if tag.name not in _SKIPPED_TAGS and len(str(tag.value)) < 10_000
        }


def tiff_layout(path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any], int]:
    """(shape, dtype, pages) of a TIFF from its headers."""
    with _open(path) as tif:
        series = tif.series[0]
        return tuple(series.shape), numpy.dtype(series.dtype), len(series.pages)


class TIFFAdapter(ArrayAdapterBase):
    """A TIFF file: one page is one block; a multi-page stack has one block per page."""

    def __init__(
        self,
        path: Path,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(metadata if metadata is not None else tiff_metadata(path), specs)
        self._path = path
        self._structure = structure or self._inspect()

    def _inspect(self) -> ArrayStructure:
        shape, dtype, pages = tiff_layout(self._path)
        if pages > 1 and len(shape) >= 3 and math.prod(shape[:-2]) == pages:
            chunks = tuple((1,) * n for n in shape[:-2]) + tuple((n,) for n in shape[-2:])
        else:
            chunks = tuple((n,) for n in shape)
        return ArrayStructure(BuiltinDtype.from_numpy_dtype(dtype), shape, chunks)

    def structure(self) -> ArrayStructure:
        return self._structure

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        shape = self._structure.shape
        with _open(self._path) as tif:
            try:
                if len(tif.pages) > 1 and len(shape) >= 3 and selection:
                    return self._read_pages(tif, selection)
                data = tif.asarray()
            except (ValueError, OSError, IndexError) as err:
                raise DataUnavailableError(f"the TIFF file cannot be read ({err})") from err
        _check_shape(data.shape, shape)
        return data[selection] if selection else data

    def _read_pages(self, tif: tifffile.TiffFile, selection: Selection) -> numpy.ndarray:
        """Decode only the pages the first axis selects (3-D stacks)."""
        first, rest = selection[0], selection[1:]
        count = self._structure.shape[0]
        indexes = range(count)[first] if isinstance(first, slice) else [range(count)[first]]
        frames = [tif.pages[i].asarray()[rest] for i in indexes]
        if isinstance(first, int):
            return frames[0]
        return (
            numpy.stack(frames)
            if frames
            else numpy.empty((0,), self._structure.data_type.to_numpy_dtype())
        )


class TIFFSequenceAdapter(ArrayAdapterBase):
    """N TIFF files, one frame each, as an (N, ...) array with one block per file."""

    def __init__(
        self,
        paths: Sequence[Path],
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(metadata, specs)
        self._paths = list(paths)
        self._structure = structure or self._inspect()

    def _inspect(self) -> ArrayStructure:
        shape, dtype, _ = tiff_layout(self._paths[0])
        full = (len(self._paths), *shape)
        chunks = ((1,) * len(self._paths), *((n,) for n in shape))
        return ArrayStructure(BuiltinDtype.from_numpy_dtype(dtype), full, chunks)

    def structure(self) -> ArrayStructure:
        return self._structure

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        return read_frames(self._paths, self._structure, normalise_selection(selection), _read_tiff)


def _read_tiff(path: Path) -> numpy.ndarray:
    with _open(path) as tif:
        try:
            return tif.asarray()
        except (ValueError, OSError, IndexError) as err:
            raise DataUnavailableError(f"a TIFF frame cannot be read ({err})") from err


def _check_shape(actual: tuple[int, ...], expected: tuple[int, ...]) -> None:
    if tuple(actual) != tuple(expected):
        raise DataUnavailableError(
            f"the file holds shape {list(actual)}, not the registered {list(expected)}; "
            "it changed after registration"
        )
