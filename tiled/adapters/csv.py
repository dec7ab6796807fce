"""CSV files: a table with one partition per file (or, registered as an array, a 2-D
array of numbers).

Whether the first row is a header comes from the mimetype (``text/csv;header=present``
or ``;header=absent``) or, for plain ``text/csv``, from sniffing the first rows: a first
row that is text above columns of numbers is a header. A file without a header gets the
column names ``"0"``, ``"1"``, ... Reader options travel as data source parameters
(``{"sep": ";"}``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import pandas
import pyarrow

from ..errors import BadRequestError
from ..structures.array import ArrayStructure
from ..structures.core import Spec
from .array_base import ArrayAdapterBase
from .chunking import auto_chunks
from .failures import read_error
from .protocols import ResolvedSource
from .selection import Normalised, as_slices
from .tables import TableAdapterBase

READER_OPTIONS = frozenset(
    {
        "sep",
        "delimiter",
        "comment",
        "skiprows",
        "encoding",
        "decimal",
        "thousands",
        "na_values",
        "keep_default_na",
        "quotechar",
        "escapechar",
        "skip_blank_lines",
        "names",
        "dtype",
    }
)
_SNIFF_BYTES = 64 * 1024
_SNIFF_ROWS = 50
_ERRORS = (pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError, OSError)


def reader_options(parameters: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(parameters) - READER_OPTIONS)
    if unknown:
        raise BadRequestError(
            f"Unknown CSV reader parameter(s) {unknown}; accepted: {sorted(READER_OPTIONS)}"
        )
    return dict(parameters)


def header_from_mimetype(mimetype: str) -> bool | None:
    if "header=present" in mimetype:
        return True
    if "header=absent" in mimetype:
        return False
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sniff_header(path: Path, options: dict[str, Any]) -> bool:
    """Whether the first row names the columns.

    Each column votes: a text cell above numbers says "header", a number above numbers
    says "no header"; columns of text do not vote. Without any vote the first row is
    taken as a header, as most CSV files have one.
    """
    encoding = options.get("encoding") or "utf-8"
    try:
        with open(path, newline="", encoding=encoding, errors="replace") as file:
            sample = file.read(_SNIFF_BYTES)
    except OSError as err:
        raise read_error("the CSV file", err, [path]) from err
    delimiter = options.get("sep") or options.get("delimiter") or ","
    rows = [r for r in csv.reader(sample.splitlines()[:_SNIFF_ROWS], delimiter=delimiter) if r]
    if len(rows) < 2:
        return bool(rows) and not all(_is_number(c) for c in rows[0] if c.strip())
    votes = 0
    for column, head in enumerate(rows[0]):
        body = [r[column] for r in rows[1:] if column < len(r) and r[column].strip()]
        if not body or not all(_is_number(v) for v in body):
            continue
        votes += -1 if _is_number(head) else 1
    return votes >= 0


def read_csv(
    path: Path, header: bool, options: dict[str, Any], columns: list[str] | None = None
) -> pandas.DataFrame:
    kwargs = dict(options)
    if "names" not in kwargs:
        kwargs["header"] = 0 if header else None
    try:
        frame = pandas.read_csv(path, **kwargs)
    except (*_ERRORS, ValueError) as err:
        raise read_error("the CSV file", err, [path]) from err
    frame.columns = [str(c) for c in frame.columns]
    return frame[columns] if columns else frame


class CSVTableAdapter(TableAdapterBase):
    def __init__(
        self,
        paths: Sequence[Path],
        structure: Any = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
        *,
        header: bool | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(paths, structure, metadata, specs)
        self._header = header
        self._options = options or {}

    def _has_header(self, path: Path) -> bool:
        return self._header if self._header is not None else sniff_header(path, self._options)

    def _read_partition(self, partition: int, columns: list[str] | None) -> pyarrow.Table:
        path = self._paths[partition]
        frame = read_csv(path, self._has_header(path), self._options, columns)
        return pyarrow.Table.from_pandas(frame)

    def _schema(self) -> pyarrow.Schema:
        # The same schema as the table read_partition builds, without converting the data.
        path = self._paths[0]
        return pyarrow.Schema.from_pandas(read_csv(path, self._has_header(path), self._options))

    def _partition_nbytes(self, partition: int) -> int | None:
        try:
            return self._paths[partition].stat().st_size * 2
        except OSError:
            return None


class CSVArrayAdapter(ArrayAdapterBase):
    """A CSV file of numbers as a 2-D array (registered with an array structure)."""

    def __init__(
        self,
        path: Path,
        structure: ArrayStructure | None,
        metadata: dict[str, Any] | None,
        specs: list[Spec] | None,
        *,
        header: bool | None,
        options: dict[str, Any],
    ) -> None:
        super().__init__(structure, metadata, specs)
        self._path = path
        self._header = header if header is not None else sniff_header(path, options)
        self._options = options

    def _values(self) -> numpy.ndarray:
        frame = read_csv(self._path, self._header, self._options)
        values: numpy.ndarray = frame.to_numpy()
        return values

    def _inspect(self) -> ArrayStructure:
        values = self._values()
        return ArrayStructure.from_array(values, chunks=auto_chunks(values.shape, values.dtype))

    def _read(self, selection: Normalised) -> numpy.ndarray:
        return self._values()[as_slices(selection)]


class CSVAdapter:
    """Registry entry for ``text/csv`` (and ``;header=present|absent``, and sequences)."""

    mimetypes = (
        "text/csv",
        "text/csv;header=present",
        "text/csv;header=absent",
        "multipart/related;type=text/csv",
    )
    extensions = (".csv",)

    @classmethod
    def from_source(cls, source: ResolvedSource) -> CSVTableAdapter | CSVArrayAdapter:
        header = header_from_mimetype(source.mimetype)
        options = reader_options(source.parameters)
        if isinstance(source.structure, ArrayStructure):
            return CSVArrayAdapter(
                source.one_path(),
                source.structure,
                source.metadata,
                source.specs,
                header=header,
                options=options,
            )
        return CSVTableAdapter(
            source.paths,
            source.structure,
            source.metadata,
            source.specs,
            header=header,
            options=options,
        )
