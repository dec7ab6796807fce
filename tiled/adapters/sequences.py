"""Arrays made of one file per frame (TIFF, JPEG, NPY sequences): read only the frames
a selection touches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy

from ..errors import DataUnavailableError
from ..structures.array import ArrayStructure
from .protocols import Selection


def normalise_selection(selection: Selection) -> Selection:
    return tuple(selection)


def read_frames(
    paths: Sequence[Path],
    structure: ArrayStructure,
    selection: Selection,
    read_one: Callable[[Path], numpy.ndarray],
) -> numpy.ndarray:
    """Stack the selected frames, each read whole and then sliced by the rest of the selection."""
    first = selection[0] if selection else slice(None)
    rest = selection[1:]
    dtype = structure.data_type.to_numpy_dtype()
    frame_shape = structure.shape[1:]
    if isinstance(first, int):
        indexes = [range(len(paths))[first]]
    else:
        indexes = list(range(len(paths))[first])

    def frame(i: int) -> numpy.ndarray:
        data = read_one(paths[i])
        if data.dtype != dtype and (data.dtype.kind, data.dtype.itemsize) == (
            dtype.kind,
            dtype.itemsize,
        ):
            data = data.astype(dtype)  # same values, other byte order
        if data.shape != frame_shape or data.dtype != dtype:
            raise DataUnavailableError(
                f"frame {i} has shape {list(data.shape)} and dtype {data.dtype}, but the "
                f"sequence is registered as {list(frame_shape)} {dtype}"
            )
        return data[rest] if rest else data

    if isinstance(first, int):
        return frame(indexes[0])
    if not indexes:
        probe = numpy.empty((0, *frame_shape), dtype)
        return probe[(slice(None), *rest)]
    first_frame = frame(indexes[0])
    out = numpy.empty((len(indexes), *first_frame.shape), dtype)
    out[0] = first_frame
    for position, i in enumerate(indexes[1:], start=1):
        out[position] = frame(i)
    return out
