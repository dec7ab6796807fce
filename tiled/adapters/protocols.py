"""What the server asks of an adapter, by capability, and what an adapter is given.

An adapter is opened from a :class:`ResolvedSource`: a data source whose asset URIs have
already been resolved to local paths and checked against the readable directories. It
never sees database rows or HTTP requests. Three small protocols cover the structure
families we serve; the server only calls the methods listed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

from ..errors import AccessDeniedError

if TYPE_CHECKING:
    import numpy
    import pyarrow

    from ..structures.array import ArrayStructure
    from ..structures.container import FileContainerStructure
    from ..structures.core import Spec, StructureFamily
    from ..structures.table import TableStructure

__all__ = [
    "Adapter",
    "ArrayAdapter",
    "ContainerAdapter",
    "Opener",
    "ResolvedSource",
    "Selection",
    "TableAdapter",
]

Selection = tuple[int | slice, ...]
"""numpy basic indexing: one int or slice per leading dimension (missing ones are full)."""


@dataclass(frozen=True)
class ResolvedSource:
    """Everything needed to open one data source.

    ``paths`` are in reader order (by asset parameter, then ``num``); on the server they
    are checked as each is first used, so read only the ones a request needs. ``structure`` is the
    registered structure, or ``None`` when inspecting a file for the first time.
    ``readable`` lists the directories files may be read from; links inside files (HDF5
    external links, virtual datasets) must land inside them too. Empty means unrestricted
    (the indexer inspecting a tree it was pointed at).
    """

    mimetype: str
    paths: Sequence[Path]
    structure: Any = None
    parameters: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    specs: list[Spec] | None = None
    readable: tuple[Path, ...] = ()

    def one_path(self) -> Path:
        """The single file of a one-file format (a clear error when there are several)."""
        from ..errors import BadRequestError

        if len(self.paths) != 1:
            raise BadRequestError(
                f"{self.mimetype} data sources read exactly one file or directory, "
                f"got {len(self.paths)}"
            )
        return self.paths[0]

    def check_readable(self, path: Path, what: str) -> Path:
        """``path`` resolved through symlinks; AccessDeniedError when outside ``readable``."""
        import os

        resolved = Path(os.path.realpath(path))
        if self.readable and not any(
            resolved == root or resolved.is_relative_to(root) for root in self.readable
        ):
            raise AccessDeniedError(
                f"{what} points outside this server's readable directories; refusing to follow it"
            )
        return resolved


class Opener(Protocol):
    """What the registry stores per mimetype: builds an adapter from a resolved source."""

    def __call__(self, source: ResolvedSource) -> Adapter: ...


@runtime_checkable
class ArrayAdapter(Protocol):
    """An N-dimensional array; ``read_block`` reads one block of ``structure().chunks``."""

    structure_family: StructureFamily

    def structure(self) -> ArrayStructure: ...
    def metadata(self) -> dict[str, Any]: ...
    def specs(self) -> list[Spec]: ...
    def read(self, selection: Selection = ()) -> numpy.ndarray: ...
    def read_block(self, block: tuple[int, ...], selection: Selection = ()) -> numpy.ndarray: ...


@runtime_checkable
class TableAdapter(Protocol):
    """A table in partitions; columns may be selected (and are, before any bytes are read)."""

    structure_family: StructureFamily

    def structure(self) -> TableStructure: ...
    def metadata(self) -> dict[str, Any]: ...
    def specs(self) -> list[Spec]: ...
    def read(self, columns: Sequence[str] | None = None) -> pyarrow.Table: ...
    def read_partition(
        self, partition: int, columns: Sequence[str] | None = None
    ) -> pyarrow.Table: ...
    def column(self, name: str) -> ArrayAdapter: ...
    def estimated_nbytes(
        self, partition: int | None = None, columns: Sequence[str] | None = None
    ) -> int | None: ...


@runtime_checkable
class ContainerAdapter(Protocol):
    """A tree inside a file (HDF5 group, Zarr group, NetCDF group, workbook)."""

    structure_family: StructureFamily

    def structure(self) -> FileContainerStructure: ...
    def metadata(self) -> dict[str, Any]: ...
    def specs(self) -> list[Spec]: ...
    def keys(self) -> list[str]: ...
    def __getitem__(self, key: str) -> Adapter: ...


Adapter = Union[ArrayAdapter, TableAdapter, ContainerAdapter]  # noqa: UP007
