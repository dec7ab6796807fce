"""Zarr stores (format 2 and 3) on the local file system: arrays and groups.

A store directory is one asset. Arrays keep their native chunk grid (capped), their
attributes as metadata and their dimension names (Zarr 3 ``dimension_names``, or the
``_ARRAY_DIMENSIONS`` attribute xarray writes) as ``dims``. A read fetches and decodes
only the chunks under the selection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import zarr
import zarr.errors
from zarr.storage import LocalStore

from ..errors import AccessDeniedError, DataGoneError
from ..structures.array import ArrayStructure, data_type_from_numpy
from ..structures.core import Spec
from .array_base import ArrayAdapterBase, changed_shape, string_dtype_for
from .attributes import json_safe_mapping
from .chunking import chunks_from_shape
from .containers import FileContainerBase
from .failures import read_error
from .protocols import ResolvedSource
from .selection import Normalised, forward

_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    TypeError,
    RuntimeError,
    zarr.errors.BaseZarrError,
)
_DIMENSIONS_ATTRIBUTE = "_ARRAY_DIMENSIONS"
ZarrArray = zarr.Array[Any]  # generic over its metadata version (2 or 3)


class ConfinedStore(LocalStore):
    """A read-only local store whose every read must resolve, through symlinks, inside
    the readable directories: a store is one asset, but its chunk files are many."""

    def __init__(
        self, root: Path | str, *, read_only: bool = True, readable: Sequence[Path] = ()
    ) -> None:
        super().__init__(root, read_only=True)
        self.readable = tuple(readable)

    def with_read_only(self, read_only: bool = False) -> ConfinedStore:
        return type(self)(self.root, readable=self.readable)

    def _check(self, key: str) -> None:
        if self.readable:
            resolved = Path(os.path.realpath(self.root / key))
            if not any(resolved.is_relative_to(root) for root in self.readable):
                raise AccessDeniedError(
                    f"The Zarr store entry {key!r} points outside this server's readable "
                    "directories; refusing to read it"
                )

    async def get(self, key: str, prototype: Any = None, byte_range: Any = None) -> Any:
        self._check(key)
        return await super().get(key, prototype, byte_range)

    async def get_partial_values(self, prototype: Any, key_ranges: Iterable[Any]) -> Any:
        key_ranges = list(key_ranges)
        for key, _ in key_ranges:
            self._check(key)
        return await super().get_partial_values(prototype, key_ranges)


@dataclass(frozen=True)
class Store:
    """A store directory and the directories its files must resolve into."""

    root: Path
    readable: tuple[Path, ...] = ()

    def open(self, path: str) -> ZarrArray | zarr.Group:
        """The array or group at ``path`` inside the store (reads metadata only)."""
        store = ConfinedStore(self.root, readable=self.readable)
        try:
            return zarr.open(store=store, mode="r", path=path)
        except _ERRORS as err:
            raise read_error("the Zarr store", err, [self.root]) from err


def _servable_dtype(array: ZarrArray) -> numpy.dtype[Any]:
    dtype = numpy.dtype(array.dtype)
    if dtype.kind in "OT":  # variable-length strings: as wide as the longest value
        return string_dtype_for(numpy.asarray(array[...], dtype=object))
    return dtype


def _dims(array: ZarrArray) -> tuple[str, ...] | None:
    names: Any = getattr(array.metadata, "dimension_names", None)
    if not names:
        names = array.attrs.get(_DIMENSIONS_ATTRIBUTE)
    valid = isinstance(names, list | tuple) and len(names) == array.ndim
    return tuple(names) if valid and all(isinstance(n, str) for n in names) else None


class ZarrArrayAdapter(ArrayAdapterBase):
    def __init__(
        self,
        root: Store,
        path: str,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(structure, metadata, specs)
        self._root = root
        self._path = path

    def _array(self) -> ZarrArray:
        node = self._root.open(self._path)
        if not isinstance(node, zarr.Array):
            raise DataGoneError(f"{self._path or '/'!r} is no longer a Zarr array")
        return node

    def _read_metadata(self) -> dict[str, Any]:
        attrs = dict(self._array().attrs)
        attrs.pop(_DIMENSIONS_ATTRIBUTE, None)
        return json_safe_mapping(attrs)

    def _inspect(self) -> ArrayStructure:
        array = self._array()
        try:
            dtype = _servable_dtype(array)
        except _ERRORS as err:
            raise read_error("the Zarr array", err, [self._root.root]) from err
        shape = tuple(array.shape)
        chunks = chunks_from_shape(shape, array.chunks or None, dtype.itemsize)
        return ArrayStructure(data_type_from_numpy(dtype), shape, chunks, dims=_dims(array))

    def _read(self, selection: Normalised) -> numpy.ndarray:
        array = self._array()
        if tuple(array.shape) != self.structure().shape:
            raise changed_shape(tuple(array.shape), self.structure().shape)
        index, flips = forward(selection)
        try:
            data = numpy.asarray(array[index] if index else array[...])
        except _ERRORS as err:
            raise read_error("the Zarr array", err, [self._root.root]) from err
        return numpy.flip(data, flips) if flips else data


class ZarrGroupAdapter(FileContainerBase):
    def __init__(
        self,
        root: Store,
        path: str,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(specs)
        self._root = root
        self._path = path
        group = root.open(path)
        if not isinstance(group, zarr.Group):
            raise DataGoneError(f"{path or '/'!r} is no longer a Zarr group")
        try:
            self._keys = sorted(group.keys())
            attributes = json_safe_mapping(dict(group.attrs))
        except _ERRORS as err:
            raise read_error("the Zarr group", err, [root.root]) from err
        self._metadata = metadata if metadata is not None else attributes

    def _child(self, key: str) -> ZarrArrayAdapter | ZarrGroupAdapter:
        return _adapter(self._root, f"{self._path}/{key}".strip("/"), None, None, None)


def _adapter(
    root: Store,
    path: str,
    structure: Any,
    metadata: dict[str, Any] | None,
    specs: list[Spec] | None,
) -> ZarrArrayAdapter | ZarrGroupAdapter:
    node = root.open(path)
    if isinstance(node, zarr.Group):
        return ZarrGroupAdapter(root, path, metadata, specs)
    structure = structure if isinstance(structure, ArrayStructure) else None
    return ZarrArrayAdapter(root, path, structure, metadata, specs)


class ZarrAdapter:
    """Registry entry for ``application/x-zarr``: a store directory, array or group (or
    the node named by the ``path`` parameter inside it)."""

    mimetypes = ("application/x-zarr",)
    extensions = (".zarr",)

    @classmethod
    def from_source(cls, source: ResolvedSource) -> ZarrArrayAdapter | ZarrGroupAdapter:
        inner = str(source.parameters.get("path") or source.parameters.get("dataset") or "")
        root = Store(source.one_path(), source.readable)
        return _adapter(root, inner.strip("/"), source.structure, source.metadata, source.specs)

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        """Whether the store's metadata documents parse and the chunks they call for exist
        (a writer creates the metadata first, then the chunks)."""
        for root in paths:
            reason = store_incomplete(root)
            if reason:
                return f"{root.name}: {reason}"
        return None


_MAX_CHUNKS_CHECKED = 100_000  # beyond this grid size only the metadata is checked


def store_incomplete(root: Path) -> str | None:
    """Why the store at ``root`` looks half-written, or None.

    Every metadata document (``zarr.json``, ``.zarray``, ``.zgroup``, ``.zattrs``,
    ``.zmetadata``) must parse; every array must have all the chunk (or shard) files of
    its grid, none of them empty. Zarr leaves out chunks equal to the fill value, so a
    sparse array reads as incomplete here: the watcher registers it once it has stayed
    quiet past its retries.
    """
    documents: dict[str, dict[str, Any]] = {}
    files: set[str] = set()
    try:
        for relative, size in _store_files(root):
            name = relative.rpartition("/")[2]
            if name in ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"):
                text = (root / relative).read_bytes()
                document = json.loads(text)
                if not isinstance(document, dict):
                    return f"{relative} is not a JSON object"
                documents[relative] = document
            elif size == 0:
                return f"the chunk {relative} is empty (being written)"
            else:
                files.add(relative)
    except OSError as err:
        return f"cannot be listed: {err.strerror}"
    except ValueError as err:
        return f"a metadata document does not parse yet ({err})"
    if not any(name in documents for name in ("zarr.json", ".zarray", ".zgroup")):
        return "no Zarr metadata document yet"
    for relative, document in documents.items():
        node = relative.rpartition("/")[0]
        reason = _chunks_missing(node, document, files)
        if reason:
            return reason
    return None


def _store_files(root: Path) -> Iterable[tuple[str, int]]:
    pending = [("", root)]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((relative + "/", Path(entry.path)))
                else:
                    yield relative, entry.stat().st_size


def _chunks_missing(node: str, document: dict[str, Any], files: set[str]) -> str | None:
    grid = _chunk_grid(document)
    if grid is None:
        return None
    shape, chunks, key = grid
    counts = [-(-int(n) // max(int(c), 1)) for n, c in zip(shape, chunks, strict=False)]
    total = 1
    for count in counts:
        total *= count
    if total == 0 or total > _MAX_CHUNKS_CHECKED:
        return None
    prefix = f"{node}/" if node else ""
    for index in numpy.ndindex(*counts):
        name = prefix + key(index)
        if name not in files:
            return f"the chunk {name} does not exist yet"
    return None


def _chunk_grid(document: dict[str, Any]) -> tuple[list[int], list[int], Any] | None:
    """Shape, chunk (or shard) shape and chunk-key function of an array document."""
    try:
        if document.get("zarr_format") == 3 and document.get("node_type") == "array":
            chunks = document["chunk_grid"]["configuration"]["chunk_shape"]
            encoding = document.get("chunk_key_encoding") or {"name": "default"}
            default = encoding.get("name") == "default"
            separator = (encoding.get("configuration") or {}).get(
                "separator", "/" if default else "."
            )

            def v3_key(index: tuple[int, ...]) -> str:
                if default:
                    return separator.join(["c", *map(str, index)])
                return separator.join(map(str, index)) or "0"

            return list(document["shape"]), list(chunks), v3_key
        if document.get("zarr_format") == 2 and "chunks" in document:
            separator = document.get("dimension_separator") or "."

            def v2_key(index: tuple[int, ...]) -> str:
                return separator.join(map(str, index)) or "0"

            return list(document["shape"]), list(document["chunks"]), v2_key
    except (KeyError, TypeError, AttributeError):
        return None
    return None
