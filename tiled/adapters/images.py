"""JPEG and PNG images (and numbered sequences of them), read with Pillow.

An image is (rows, columns) for one-channel modes and (rows, columns, channels) for
colour ones, exactly as ``numpy.asarray(PIL.Image.open(path))`` gives it. Shape and
dtype come from the header; pixels are decoded only on read (these formats cannot decode
a window, so an image is one block).
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
from PIL import ExifTags, Image, UnidentifiedImageError

from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase
from .attributes import json_safe
from .chunking import auto_chunks
from .failures import read_error
from .protocols import ResolvedSource
from .selection import Normalised, as_slices
from .sequences import FrameSequenceAdapter

_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError)
# The last bytes a complete file of each format ends with (JPEG EOI marker, PNG IEND chunk).
_TRAILERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}


def _open(path: Path, what: str = "the image file") -> Image.Image:
    try:
        return Image.open(path)
    except _ERRORS as err:
        raise read_error(what, err, [path]) from err


def image_layout(path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
    """(shape, dtype) from the header: a 1x1 image of the same mode tells the pixel layout."""
    with _open(path) as image:
        return _layout_of(image)


def _layout_of(image: Image.Image) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
    width, height = image.size
    channels, dtype = _mode_layout(image.mode)
    return (height, width, *channels), dtype


@functools.lru_cache(maxsize=64)
def _mode_layout(mode: str) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
    probe = numpy.asarray(Image.new(mode, (1, 1)))
    return tuple(probe.shape[2:]), probe.dtype


def read_image(path: Path, what: str = "the image file") -> numpy.ndarray:
    with _open(path, what) as image:
        try:
            return numpy.asarray(image)
        except _ERRORS as err:
            raise read_error(what, err, [path]) from err


def image_metadata(path: Path) -> dict[str, Any]:
    """Format, mode, scalar ``info`` entries (dpi, gamma...) and EXIF tags by name."""
    with _open(path) as image:
        return _metadata_of(image)


def _metadata_of(image: Image.Image) -> dict[str, Any]:
    info = {
        str(k): json_safe(v)
        for k, v in image.info.items()
        if not isinstance(v, bytes) and k not in ("exif", "icc_profile")
    }
    exif = {ExifTags.TAGS.get(k, str(k)): json_safe(v) for k, v in _exif(image).items()}
    metadata: dict[str, Any] = {"format": image.format, "mode": image.mode, **info}
    if exif:
        metadata["exif"] = exif
    return metadata


# Chunks that, after the image data, would add EXIF (or an XMP orientation) to a PNG.
_PNG_LATE_CHUNKS = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt"})
_PNG_MAX_CHUNKS = 4096


def _exif(image: Image.Image) -> Image.Exif:
    """``image.getexif()``; for a PNG, without decoding its pixels when no chunk after the
    image data could add EXIF (Pillow decodes the whole image to reach such chunks)."""
    if image.format == "PNG" and "exif" not in image.info and not _png_late_metadata(image):
        return Image.Image.getexif(image)
    return image.getexif()


def _png_late_metadata(image: Image.Image) -> bool:
    """Whether a text or EXIF chunk follows the first IDAT (True when unsure: a file
    without IEND, or too many chunks, is left to Pillow)."""
    file = image.fp
    if file is None:
        return True
    position = file.tell()
    try:
        file.seek(8)
        after_data = False
        for _ in range(_PNG_MAX_CHUNKS):
            header = file.read(8)
            if len(header) < 8:
                return True
            length, kind = struct.unpack(">I4s", header)
            if kind == b"IEND":
                return False
            if kind == b"IDAT":
                after_data = True
            elif after_data and kind in _PNG_LATE_CHUNKS:
                return True
            file.seek(length + 4, os.SEEK_CUR)
        return True
    except (OSError, ValueError, struct.error):
        return True
    finally:
        file.seek(position)


def _incomplete(paths: Sequence[Path]) -> str | None:
    for path in paths:
        try:
            with open(path, "rb") as file:
                head = file.read(8)
                file.seek(max(0, path.stat().st_size - 16))
                tail = file.read()
        except OSError as err:
            return f"{path.name}: {err.strerror}"
        kind = "PNG" if head.startswith(b"\x89PNG") else "JPEG" if head[:2] == b"\xff\xd8" else None
        if kind and not tail.rstrip(b"\x00").endswith(_TRAILERS[kind]):
            return f"{path.name}: no {kind} end marker yet"
    return None


class ImageAdapter(ArrayAdapterBase):
    """One JPEG or PNG file."""

    mimetypes = ("image/jpeg", "image/png")
    extensions = (".jpg", ".jpeg", ".png")

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
    def from_source(cls, source: ResolvedSource) -> ImageAdapter:
        return cls(source.one_path(), source.structure, source.metadata, source.specs)

    def _read_metadata(self) -> dict[str, Any]:
        return image_metadata(self._path)

    def _inspect(self) -> ArrayStructure:
        with _open(self._path) as image:
            shape, dtype = _layout_of(image)
            if self._metadata is None:  # first inspection: one open for both
                self._metadata = _metadata_of(image)
        return ArrayStructure(data_type_from_numpy(dtype), shape, auto_chunks(shape, dtype))

    def _read(self, selection: Normalised) -> numpy.ndarray:
        return read_image(self._path)[as_slices(selection)]

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        return _incomplete(paths)


class ImageSequenceAdapter(FrameSequenceAdapter):
    """N JPEG or PNG files, one frame each, as an (N, rows, columns[, channels]) array."""

    mimetypes = ("multipart/related;type=image/jpeg", "multipart/related;type=image/png")

    @classmethod
    def from_source(cls, source: ResolvedSource) -> ImageSequenceAdapter:
        return cls(source.paths, source.structure, source.metadata, source.specs)

    def _frame_layout(self, path: Path) -> tuple[tuple[int, ...], numpy.dtype[Any]]:
        return image_layout(path)

    def _read_frame(self, path: Path) -> numpy.ndarray:
        return read_image(path, "an image frame")

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        return _incomplete(paths)
