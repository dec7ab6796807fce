"""CSV and Parquet tables: one partition per file."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import pandas

from ..errors import DataUnavailableError, NotFoundError
from ..structures.array import ArrayStructure
from ..structures.core import Spec, StructureFamily
from ..structures.table import TableStructure
from .array_base import ArrayAdapterBase
from .protocols import Selection


class TableAdapterBase:
    structure_family = StructureFamily.table

    def __init__(
        self,
        paths: Sequence[Path],
        structure: TableStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        self._paths = list(paths)
        self._metadata = dict(metadata or {})
        self._specs = list(specs or [])
        if structure is None:
            structure = TableStructure.from_pandas(self._read_file(0, None), len(self._paths))
        self._structure = structure

    def _read_file(self, index: int, columns: Sequence[str] | None) -> pandas.DataFrame:
        raise NotImplementedError

    def structure(self) -> TableStructure:
        return self._structure

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def specs(self) -> list[Spec]:
        return self._specs

    def read_partition(
        self, partition: int, columns: Sequence[str] | None = None
    ) -> pandas.DataFrame:
        return self._read_file(partition, columns)

    def read(self, columns: Sequence[str] | None = None) -> pandas.DataFrame:
        frames = [self._read_file(i, columns) for i in range(len(self._paths))]
        return pandas.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def column(self, name: str) -> ColumnAdapter:
        if name not in self._structure.columns:
            raise NotFoundError(f"No column {name!r}; columns are {list(self._structure.columns)}")
        return ColumnAdapter(self, name)


class ColumnAdapter(ArrayAdapterBase):
    """One column of a table as a 1-D array (one block)."""

    def __init__(self, table: TableAdapterBase, name: str) -> None:
        super().__init__()
        self._table = table
        self._name = name
        self._values: numpy.ndarray | None = None

    def _column(self) -> numpy.ndarray:
        if self._values is None:
            values = self._table.read([self._name])[self._name].to_numpy()
            if values.dtype.kind == "O":
                values = values.astype("U")
            self._values = values
        return self._values

    def structure(self) -> ArrayStructure:
        return ArrayStructure.from_array(self._column())

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        values = self._column()
        return values[selection] if selection else values


def _csv_has_header(path: Path) -> bool:
    with open(path, newline="", errors="replace") as file:
        sample = file.read(64 * 1024)
    try:
        return csv.Sniffer().has_header(sample)
    except csv.Error:
        return True


class CSVAdapter(TableAdapterBase):
    def __init__(
        self, paths: Sequence[Path], *args: Any, header: bool | None = None, **kwargs: Any
    ) -> None:
        self._header = header
        super().__init__(paths, *args, **kwargs)

    def _read_file(self, index: int, columns: Sequence[str] | None) -> pandas.DataFrame:
        path = self._paths[index]
        header = self._header if self._header is not None else _csv_has_header(path)
        try:
            frame = pandas.read_csv(path, header=0 if header else None)
        except (pandas.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
            raise DataUnavailableError(f"the CSV file cannot be parsed ({err})") from err
        frame.columns = [str(c) for c in frame.columns]
        return frame[list(columns)] if columns else frame


class ParquetAdapter(TableAdapterBase):
    def _read_file(self, index: int, columns: Sequence[str] | None) -> pandas.DataFrame:
        try:
            return pandas.read_parquet(
                self._paths[index], columns=list(columns) if columns else None
            )
        except (OSError, ValueError) as err:
            raise DataUnavailableError(f"the Parquet file cannot be read ({err})") from err
