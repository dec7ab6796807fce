"""Parquet: a file is one partition; several files (assets ``data_uris``) or a directory
of files (one asset, ``is_directory``) are one partition each.

A directory may be Hive-partitioned (``key=value/part-0.parquet``): the key columns come
from the directory names. Partitions are ordered naturally by path. Schemas and sizes
come from the footers; reading a partition reads only the columns asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow
import pyarrow.dataset
import pyarrow.parquet

from ..structures.core import Spec
from .failures import read_error
from .protocols import ResolvedSource
from .sequences import natural_key
from .tables import TableAdapterBase

_ERRORS = (OSError, pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, ValueError)


def _is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "_"))


class ParquetAdapter(TableAdapterBase):
    mimetypes = ("application/x-parquet",)
    extensions = (".parquet",)

    def __init__(
        self,
        paths: list[Path],
        structure: Any = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        super().__init__(paths, structure, metadata, specs)
        self._dataset: pyarrow.dataset.Dataset | None = None
        self._fragments: list[Any] = []

    @classmethod
    def from_source(cls, source: ResolvedSource) -> ParquetAdapter:
        adapter = cls(list(source.paths), source.structure, source.metadata, source.specs)
        if len(source.paths) == 1 and source.paths[0].is_dir():
            adapter._open_directory(source.paths[0], source)
        return adapter

    def _open_directory(self, root: Path, source: ResolvedSource) -> None:
        try:
            files = [p for p in root.rglob("*") if _is_data_file(p)]
            for path in files:  # a partition may be a symlink: it must stay inside too
                source.check_readable(path, f"The partition {path.relative_to(root)}")
            self._dataset = pyarrow.dataset.dataset(
                sorted(map(str, files), key=natural_key),
                format="parquet",
                partitioning=pyarrow.dataset.partitioning(flavor="hive"),
                partition_base_dir=str(root),
            )
            self._fragments = list(self._dataset.get_fragments())
        except _ERRORS as err:
            raise read_error("the Parquet directory", err, [root]) from err

    def _partition_count(self) -> int:
        return len(self._fragments) if self._dataset is not None else len(self._paths)

    def _schema(self) -> pyarrow.Schema:
        if self._dataset is not None:
            return self._dataset.schema
        try:
            return pyarrow.parquet.read_schema(self._paths[0])
        except _ERRORS as err:
            raise read_error("the Parquet file", err, self._paths) from err

    def _read_partition(self, partition: int, columns: list[str] | None) -> pyarrow.Table:
        try:
            if self._dataset is not None:
                fragment = self._fragments[partition]
                return fragment.to_table(schema=self._dataset.schema, columns=columns)
            return pyarrow.parquet.read_table(self._paths[partition], columns=columns)
        except _ERRORS as err:
            raise read_error("the Parquet file", err, self._paths) from err

    def _partition_nbytes(self, partition: int) -> int | None:
        path = self._fragments[partition].path if self._dataset is not None else None
        try:
            footer = pyarrow.parquet.read_metadata(path or self._paths[partition])
        except _ERRORS:
            return None
        return int(sum(footer.row_group(i).total_byte_size for i in range(footer.num_row_groups)))
