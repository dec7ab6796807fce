"""Arrow IPC files (``ARROW1`` magic, also called Feather v2), memory-mapped: one
partition per file, and selecting columns touches only their buffers. Arrow IPC
*streams* are accepted too (read front to back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow
import pyarrow.ipc

from ..structures.core import Spec
from .failures import read_error
from .protocols import ResolvedSource
from .tables import TableAdapterBase

_MAGIC = b"ARROW1"
_ERRORS = (OSError, pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, ValueError)


def _reader(path: Path) -> Any:
    """A file reader for the IPC file format, else a stream reader."""
    source = pyarrow.memory_map(str(path), "r")
    try:
        if source.read(len(_MAGIC)) == _MAGIC:
            source.seek(0)
            return pyarrow.ipc.open_file(source)
        source.seek(0)
        return pyarrow.ipc.open_stream(source)
    except BaseException:
        source.close()
        raise


class ArrowAdapter(TableAdapterBase):
    mimetypes = ("application/vnd.apache.arrow.file",)
    extensions = (".arrow", ".feather")

    def __init__(
        self,
        paths: list[Path],
        structure: Any = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(paths, structure, metadata, specs)

    @classmethod
    def from_source(cls, source: ResolvedSource) -> ArrowAdapter:
        return cls(list(source.paths), source.structure, source.metadata, source.specs)

    def _schema(self) -> pyarrow.Schema:
        path = self._paths[0]
        try:
            return _reader(path).schema
        except _ERRORS as err:
            raise read_error("the Arrow file", err, [path]) from err

    def _read_partition(self, partition: int, columns: list[str] | None) -> pyarrow.Table:
        path = self._paths[partition]
        try:
            table = _reader(path).read_all()
            return table.select(columns) if columns else table
        except _ERRORS as err:
            raise read_error("the Arrow file", err, [path]) from err

    def _partition_nbytes(self, partition: int) -> int | None:
        try:
            return self._paths[partition].stat().st_size
        except OSError:
            return None
