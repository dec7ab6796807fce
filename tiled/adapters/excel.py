"""Excel workbooks (``.xlsx``): a container with one table per sheet.

Listing the sheets reads only the workbook part of the archive; a sheet is parsed when
it is read (``.xlsx`` stores cells row by row, so there is no cheaper way to a column).
The first row holds the column names, as pandas reads it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas
import pyarrow

from ..structures.core import Spec
from .containers import FileContainerBase
from .failures import read_error
from .protocols import ResolvedSource
from .tables import TableAdapterBase

_ERRORS = (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, TypeError)
_SHEET_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True)
    except _ERRORS as err:
        raise read_error("the Excel file", err, [path]) from err
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


class ExcelSheetAdapter(TableAdapterBase):
    """One sheet as a table of one partition."""

    def __init__(self, path: Path, sheet: str) -> None:
        super().__init__([path])
        self._sheet = sheet

    def _frame(self) -> pandas.DataFrame:
        try:
            frame = pandas.read_excel(self._paths[0], sheet_name=self._sheet, engine="openpyxl")
        except _ERRORS as err:
            raise read_error("the Excel file", err, self._paths) from err
        frame.columns = [str(c) for c in frame.columns]
        return frame

    def _schema(self) -> pyarrow.Schema:
        return pyarrow.Table.from_pandas(self._frame()).schema

    def _read_partition(self, partition: int, columns: list[str] | None) -> pyarrow.Table:
        frame = self._frame()
        return pyarrow.Table.from_pandas(frame[columns] if columns else frame)


class ExcelAdapter(FileContainerBase):
    """A workbook: keys are sheet names, in workbook order."""

    mimetypes = (_SHEET_MIMETYPE,)
    extensions = (".xlsx",)

    def __init__(
        self, path: Path, metadata: dict[str, Any] | None = None, specs: list[Spec] | None = None
    ) -> None:
        super().__init__(specs)
        self._path = path
        self._keys = sheet_names(path)
        self._metadata = dict(metadata or {})

    @classmethod
    def from_source(cls, source: ResolvedSource) -> ExcelAdapter:
        return cls(source.one_path(), source.metadata, source.specs)

    def _child(self, key: str) -> ExcelSheetAdapter:
        return ExcelSheetAdapter(self._path, key)

    @staticmethod
    def incomplete_reason(paths: Sequence[Path]) -> str | None:
        """An ``.xlsx`` is a zip archive: complete once its central directory is written."""
        for path in paths:
            if not zipfile.is_zipfile(path):
                return f"{path.name}: no zip central directory (yet)"
        return None
