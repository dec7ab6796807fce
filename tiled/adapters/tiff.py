"""TIFF files (one page or a stack of pages) and TIFF sequences (one file per frame).

The first image series of a file is served. A stack has one block per page; a single
page is one block unless it is larger than the block cap, in which case blocks are runs
of rows. Partial reads go through tifffile's chunk store, so only the pages, strips or
tiles a selection touches are decoded.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import tifffile

from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase
from .attributes import json_safe
from .chunking import chunks_from_shape
from .failures import read_error
from .protocols import ResolvedSource
from .raw_runs import StoredLayout, file_stamp, read_run
from .selection import Normalised, contiguous_span, forward, result_shape
from .sequences import FrameSequenceAdapter

_MAX_TAG_CHARS = 10_000
# What decoding a damaged file may raise: tifffile's own errors, codec errors, short reads.
_ERRORS = (
    tifffile.TiffFileError,
    ValueError,
    IndexError,
    KeyError,
    OSError,
    EOFError,
    RuntimeError,
    zlib.error,
    struct.error,
)


def open_tiff(path: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(path)
    except _ERRORS as err:
        raise read_error("the TIFF file", err, [path]) from err


def tiff_tags(path: Path) -> dict[str, Any]:
    """Tag name to value, for the first page (as the reference reader reports them)."""
    with open_tiff(path) as tif:
        return _first_page_tags(tif, path)


def _layout(tif: tifffile.TiffFile) -> tuple[tuple[int, ...], numpy.dtype[Any], tuple[int, ...]]:
    """(shape, dtype, page shape) of the first series, from the IFDs only."""
    series = tif.series[0]
    page_shape = tuple(series.keyframe.shape)
    return tuple(series.shape), numpy.dtype(series.dtype), page_shape


def tiff_chunks(shape: tuple[int, ...], itemsize: int, page_shape: tuple[int, ...]) -> Any:
    """One block per page along the page axes; a page capped into runs of rows."""
    lead = len(shape) - len(page_shape)
    if lead < 0 or tuple(shape[lead:]) != page_shape:
        return chunks_from_shape(shape, None, itemsize)
    inner = chunks_from_shape(page_shape, None, itemsize)
    return (*(((1,) * n if n else (0,)) for n in shape[:lead]), *inner)


def _first_page_tags(tif: tifffile.TiffFile, path: Path) -> dict[str, Any]:
    """:func:`tiff_tags` of a file already open (inspection reads tags and layout at once)."""
    try:
        found = list(tif.pages.first.tags.values())
    except _ERRORS as err:  # e.g. a header with no readable page
        raise read_error("the TIFF file", err, [path]) from err
    tags = {}
    for tag in found:
        value = json_safe(tag.value)
        if len(repr(value)) <= _MAX_TAG_CHARS:
            tags[tag.name] = value
    return tags


class TIFFAdapter(ArrayAdapterBase):
    """A TIFF file: its first series, block per page."""

    mimetypes = ("image/tiff",)
    extensions = (".tif", ".tiff")

    def __init__(
        self,
        path: Path,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(structure, metadata, specs)
        self._path = path
        self._layout_cache: tuple[tuple[int, ...], StoredLayout | None] | None = None

    @classmethod
    def from_source(cls, source: ResolvedSource) -> TIFFAdapter:
        return cls(source.one_path(), source.structure, source.metadata, source.specs)

    def _read_metadata(self) -> dict[str, Any]:
        return tiff_tags(self._path)

    def _inspect(self) -> ArrayStructure:
        with open_tiff(self._path) as tif:
            try:
                shape, dtype, page_shape = _layout(tif)
            except _ERRORS as err:
                raise read_error("the TIFF file", err, [self._path]) from err
            if self._metadata is None:  # first inspection: the tags come with the same open
                self._metadata = _first_page_tags(tif, self._path)
        chunks = tiff_chunks(shape, dtype.itemsize, page_shape)
        return ArrayStructure(data_type_from_numpy(dtype), shape, chunks)

    def _read(self, selection: Normalised) -> numpy.ndarray:
        shape = self.structure().shape
        span = contiguous_span(selection, shape)
        if span is not None:
            layout = self._stored_layout()
            if layout is not None and layout.shape == shape:
                try:
                    return read_run(self._path, layout, span, result_shape(selection))
                except OSError as err:
                    raise read_error("the TIFF file", err, [self._path]) from err
        whole = all(
            isinstance(item, range) and item == range(n)
            for item, n in zip(selection, shape, strict=True)
        )
        with open_tiff(self._path) as tif:
            try:
                if whole:
                    return tif.asarray(series=0)
                return _read_region(tif, selection)
            except _ERRORS as err:
                raise read_error("the TIFF file", err, [self._path]) from err

    def _stored_layout(self) -> StoredLayout | None:
        """Where the first series lies in the file when it is stored as is, in one run
        (None when compressed, tiled or scattered); kept while the file is unchanged, so
        the parts of one streamed response open the TIFF structure once."""
        try:
            stamp = file_stamp(self._path)
        except OSError as err:
            raise read_error("the TIFF file", err, [self._path]) from err
        if self._layout_cache is not None and self._layout_cache[0] == stamp:
            return self._layout_cache[1]
        with open_tiff(self._path) as tif:
            try:
                layout = stored_layout(tif)
            except _ERRORS as err:
                raise read_error("the TIFF file", err, [self._path]) from err
        self._layout_cache = (stamp, layout)
        return layout

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        """Whether every page's IFD and image data lie inside the file (a writer may not
        have finished yet)."""
        for path in paths:
            reason = _tiff_incomplete(path)
            if reason:
                return reason
        return None


def stored_layout(tif: tifffile.TiffFile) -> StoredLayout | None:
    """The first series as one run of raw bytes, if tifffile finds it so (uncompressed,
    untiled pages back to back, or a shaped file that says it is contiguous)."""
    series = tif.series[0]
    offset = series.dataoffset
    if offset is None:
        return None
    # tifffile reports the decoded (native) dtype; the bytes are in the file's order.
    dtype = numpy.dtype(series.dtype).newbyteorder(tif.byteorder)
    return StoredLayout(offset, tuple(series.shape), dtype)


def _read_region(tif: tifffile.TiffFile, selection: Normalised) -> numpy.ndarray:
    """Decode only the pages, strips or tiles under ``selection``."""
    import zarr

    index, flips = forward(selection)
    store = tif.aszarr(series=0)
    try:
        data = numpy.asarray(zarr.open_array(store, mode="r")[index])
    finally:
        store.close()
    return numpy.flip(data, flips) if flips else data


def _tiff_incomplete(path: Path) -> str | None:
    try:
        size = os.path.getsize(path)
        reason = _ifd_chain_problem(path, size)
        if reason:
            return f"{path.name}: {reason}"
        with tifffile.TiffFile(path) as tif:
            for page in tif.pages:
                offsets = getattr(page, "dataoffsets", ()) or ()
                counts = getattr(page, "databytecounts", ()) or ()
                end = max((o + c for o, c in zip(offsets, counts, strict=False) if c), default=0)
                if end > size:
                    return f"{path.name}: image data ends at byte {end}, past the end ({size})"
    except _ERRORS as err:
        return f"{path.name}: {type(err).__name__}: {err}"
    return None


def _ifd_chain_problem(path: Path, size: int) -> str | None:
    """Follow the chain of image file directories; every link must lie inside the file."""
    with open(path, "rb") as file:
        header = file.read(16)
        if len(header) < 8 or header[:2] not in (b"II", b"MM"):
            return "no TIFF header (yet)"
        order = "<" if header[:2] == b"II" else ">"
        big = struct.unpack(order + "H", header[2:4])[0] == 43
        count_format, entry_size, offset_format = ("Q", 20, "Q") if big else ("H", 12, "I")
        offset = struct.unpack_from(order + offset_format, header, 8 if big else 4)[0]
        seen = set()
        while offset:
            if offset in seen:
                return "the directory chain loops"
            seen.add(offset)
            count_size = struct.calcsize(count_format)
            if offset + count_size > size:
                return f"an image file directory at byte {offset} lies past the end ({size})"
            file.seek(offset)
            count = struct.unpack(order + count_format, file.read(count_size))[0]
            next_at = offset + count_size + count * entry_size
            link_size = struct.calcsize(offset_format)
            if next_at + link_size > size:
                return f"an image file directory at byte {offset} is cut short"
            entries = file.read(count * entry_size)
            end = _values_end(entries, order, big, count)
            if end > size:
                return f"a tag value of the directory at byte {offset} lies past the end"
            offset = struct.unpack(order + offset_format, file.read(link_size))[0]
    return None


# Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, ...).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_TYPE_SIZES.update({13: 4, 16: 8, 17: 8, 18: 8})


def _values_end(entries: bytes, order: str, big: bool, count: int) -> int:
    """The furthest byte any out-of-line tag value of one directory reaches."""
    entry_format = order + ("HHQQ" if big else "HHII")
    entry_size, inline = (20, 8) if big else (12, 4)
    end = 0
    for index in range(count):
        _, kind, number, value = struct.unpack_from(entry_format, entries, index * entry_size)
        length = _TYPE_SIZES.get(kind, 1) * number
        if length > inline:
            end = max(end, value + length)
    return end


class TIFFSequenceAdapter(FrameSequenceAdapter):
    """N TIFF files, one frame each, as an (N, ...) array with one block per file."""

    mimetypes = ("multipart/related;type=image/tiff",)

    @classmethod
    def from_source(cls, source: ResolvedSource) -> TIFFSequenceAdapter:
        return cls(source.paths, source.structure, source.metadata, source.specs)

    def _frame_layout(self, path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
        with open_tiff(path) as tif:
            try:
                shape, dtype, _ = _layout(tif)
            except _ERRORS as err:
                raise read_error("a TIFF frame", err, [path]) from err
        return shape, dtype

    def _read_frame(self, path: Path) -> numpy.ndarray:
        with open_tiff(path) as tif:
            try:
                return tif.asarray(series=0)
            except _ERRORS as err:
                raise read_error("a TIFF frame", err, [path]) from err

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        return TIFFAdapter.incomplete_reason(paths)
