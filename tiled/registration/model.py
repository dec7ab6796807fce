"""The values that travel through the indexing pipeline, shared by planner, inspector,
sync driver, sinks and watcher. Plain data only: no I/O happens here.

A *key path* is a tuple of node keys relative to the registration prefix (the node the
tree is registered under), e.g. ``("raw", "scan_")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ..catalog.records import AssetStat
from ..structures.core import Spec, StructureFamily
from ..structures.data_source import DataSource

KeyPath = tuple[str, ...]

Fingerprint = tuple[tuple[str, int | None, int | None], ...]
"""Sorted ``(data_uri, size, mtime_ns)`` of a node's assets; equal means unchanged.

Directories (stores such as Zarr) carry ``size=None``. Containers made from plain
directories have the empty fingerprint ``()``.
"""


@dataclass(frozen=True)
class FileState:
    """A file or directory as ``os.scandir`` saw it: enough to tell whether it changed."""

    path: Path  # absolute and resolved (symlinks followed), so it is what the server checks
    size: int | None  # None for directories
    mtime_ns: int
    is_directory: bool = False

    @property
    def data_uri(self) -> str:
        return self.path.as_uri()


@dataclass(frozen=True)
class Planned:
    """One data node the tree calls for, decided from names and stat alone."""

    key_path: KeyPath
    mimetype: str
    files: tuple[FileState, ...]  # in reader order (sequences: natural order of names)
    parameter: str  # "data_uri" (one asset, num=None) or "data_uris" (num = 0..N-1)
    parameters: dict[str, Any] = field(default_factory=dict)  # reader keyword arguments

    @property
    def fingerprint(self) -> Fingerprint:
        return tuple(sorted((f.data_uri, f.size, f.mtime_ns) for f in self.files))


@dataclass(frozen=True)
class PlannedContainer:
    """A plain directory, registered as a container node and walked into."""

    key_path: KeyPath
    directory: Path


SkipReason = Literal[
    "hidden",
    "excluded-extension",
    "unrecognised",
    "symlink-outside",
    "symlink-cycle",
    "collision",
    "unreadable",
    "corrupt",
    "incomplete",
    "inconsistent-sequence",
    "refused",
]


@dataclass(frozen=True)
class Skipped:
    """A file or directory that is not (or no longer) in the catalog, and why."""

    path: Path
    reason: SkipReason
    detail: str = ""
    key_path: KeyPath | None = None


@dataclass
class NodeEntry:
    """A node ready to write: the same content a ``client.new`` body carries.

    ``data_sources`` is empty for containers made from directories. ``stats`` maps each
    asset's ``data_uri`` to the size and modification time seen when it was inspected.
    """

    key_path: KeyPath
    structure_family: StructureFamily
    metadata: dict[str, Any]
    specs: list[Spec]
    data_sources: list[DataSource]
    stats: dict[str, AssetStat] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        """Whether the node reads files (a container made from a directory does not)."""
        return bool(self.data_sources)


@dataclass(frozen=True)
class PackedEntry:
    """A data node already encoded for the HTTP sink: ``body`` is the msgpack of the node
    body ``POST /register`` takes (:func:`tiled.registration.encoding.node_body`).

    What inspection workers send back for ``register`` (``Inspector(packed=True)``): the
    parent then neither unpickles the structures nor encodes them again. Only the HTTP
    sink accepts it.
    """

    key_path: KeyPath
    structure_family: StructureFamily
    body: bytes
    stats: dict[str, AssetStat] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return True


@dataclass(frozen=True)
class Put:
    """Create the node, or replace it (same key, new content) in one transaction."""

    entry: NodeEntry | PackedEntry
    replace: bool = False


@dataclass(frozen=True)
class Remove:
    """Remove the node and everything below it."""

    key_path: KeyPath


Change = Put | Remove


@dataclass(frozen=True)
class Outcome:
    """What a sink did with one change: ``ok`` or the refusal's message."""

    key_path: KeyPath
    ok: bool
    message: str = ""
    status: int | None = None  # the HTTP status a refusal maps to, when known


@dataclass(frozen=True)
class Registered:
    """A node the sink already holds under the prefix, with its assets' fingerprint."""

    key_path: KeyPath
    structure_family: StructureFamily
    fingerprint: Fingerprint


class Sink(Protocol):
    """Where indexing writes: the catalog in-process, or a server over HTTP."""

    def registered(self) -> AsyncIterator[Registered]:
        """Every node under the prefix (any depth), parents before children."""
        ...

    async def apply(self, changes: Sequence[Change]) -> list[Outcome]:
        """Apply changes in order, as one transaction where the sink can; one outcome each.

        A change the sink refuses (conflict, file outside the allowed directories, ...)
        fails alone with its message; the rest of the batch is applied.
        """
        ...

    async def close(self) -> None: ...
