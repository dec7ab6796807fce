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
import io
import json
import re
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
_READ_ONCE_BYTES = 64 * 2**20  # inspection reads a file this small into memory once
_SCHEMA_CACHE_SIZE = 256
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
    return header_in_sample(sample, options)


def header_in_sample(sample: str, options: dict[str, Any]) -> bool:
    """:func:`sniff_header`'s vote on the first characters of a file, already read."""
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
    path: Path,
    header: bool,
    options: dict[str, Any],
    columns: list[str] | None = None,
    *,
    content: bytes | None = None,
) -> pandas.DataFrame:
    """The file as a frame with text column names; ``content``: its bytes, already read."""
    kwargs = dict(options)
    if "names" not in kwargs:
        kwargs["header"] = 0 if header else None
    try:
        frame = pandas.read_csv(path if content is None else io.BytesIO(content), **kwargs)
    except (*_ERRORS, ValueError) as err:
        raise read_error("the CSV file", err, [path]) from err
    if not all(type(c) is str for c in frame.columns):  # renaming costs an Index
        frame.columns = [str(c) for c in frame.columns]
    return frame[columns] if columns else frame


def inspect_schema(path: Path, header: bool | None, options: dict[str, Any]) -> pyarrow.Schema:
    """The Arrow schema of the table the file reads as (what ``read_partition`` serves).

    Registration's cost: a small file is read from disk once (the header sniff looks at
    the same bytes), and the schema of a frame whose columns and dtypes were seen before
    is the cached one with this file's row count (see :func:`frame_schema`).
    """
    try:
        small = path.stat().st_size <= _READ_ONCE_BYTES
        content = path.read_bytes() if small else None
    except OSError as err:
        raise read_error("the CSV file", err, [path]) from err
    if content is None:
        has_header = header if header is not None else sniff_header(path, options)
        return frame_schema(read_csv(path, has_header, options))
    if header is None:
        encoding = options.get("encoding") or "utf-8"
        # At most 4 bytes a character: this decodes at least _SNIFF_BYTES characters.
        sample = content[: 4 * _SNIFF_BYTES].decode(encoding, errors="replace")
        header = header_in_sample(sample[:_SNIFF_BYTES], options)
    layout = None if options else numeric_layout(content, header)
    if layout is not None:
        known = _layouts.get(layout[0])
        if known is not None:
            return _with_rows(known, layout[1])
    frame = read_csv(path, header, options, content=content)
    schema = frame_schema(frame)
    if layout is not None and _pandas_agrees(layout, frame):
        parts = _schemas.get(_frame_key(frame))
        if parts is not None:
            _remember(_layouts, layout[0], parts)
    return schema


# -- small files of plain numbers, without pandas ----------------------------------------

_QUICK_BYTES = 16 * 1024  # beyond this pandas' C parser beats a Python loop
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")  # always int64 to pandas
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")  # always float64 to pandas
_layouts: dict[tuple[Any, ...], tuple[pyarrow.Schema, bytes, bytes]] = {}

Layout = tuple[tuple[bool, tuple[str, ...], tuple[str, ...]], int]


def numeric_layout(content: bytes, header: bool) -> Layout | None:
    """``((header, names, dtypes), rows)`` of a small comma-separated file of plain
    decimal numbers under a simple header, read without pandas; None for anything else.

    Only forms whose pandas dtype is certain count: integers of at most 18 digits
    (int64) and ``-12.5``-style decimals (float64, also for a column mixing both). Quotes,
    blank lines, carriage returns, non-ASCII text, ragged rows, empty, repeated or
    missing names, empty cells and every other spelling return None (pandas decides).
    The dtypes are trusted only once pandas agreed on a file of the same layout (see
    :func:`inspect_schema`), so this never invents a schema pandas would not give.
    """
    if len(content) > _QUICK_BYTES or not content.isascii():
        return None
    text = content.decode("ascii")
    if '"' in text or "\r" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) < 1 + header or "" in lines:
        return None
    rows = [line.split(",") for line in lines]
    width = len(rows[0])
    if header:
        names = tuple(rows[0])
        rows = rows[1:]
        if len(set(names)) != width or not all(n.strip() == n and n for n in names):
            return None
    else:
        names = tuple(str(i) for i in range(width))
    kinds = ["int64"] * width
    for row in rows:
        if len(row) != width:
            return None
        for column, cell in enumerate(row):
            if _INT.fullmatch(cell):
                continue
            if _FLOAT.fullmatch(cell):
                kinds[column] = "float64"
                continue
            return None
    return (header, names, tuple(kinds)), len(rows)


def _pandas_agrees(layout: Layout, frame: pandas.DataFrame) -> bool:
    (_, names, kinds), rows = layout
    return (
        len(frame) == rows
        and tuple(frame.columns) == names
        and tuple(str(dtype) for dtype in frame.dtypes) == kinds
    )


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _SCHEMA_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


_schemas: dict[tuple[Any, ...], tuple[pyarrow.Schema, bytes, bytes]] = {}
_STOP = "\x00stop\x00"  # stands for the row count in the cached pandas metadata


def frame_schema(frame: pandas.DataFrame) -> pyarrow.Schema:
    """``pyarrow.Schema.from_pandas(frame)``, cheaply for a frame shaped like one before.

    The schema depends on the column names and dtypes only, except for the row count in
    the pandas metadata of a RangeIndex and for object columns (typed by their values):
    frames with object columns or another index are converted in full every time.
    """
    index = frame.index
    dtypes = frame.dtypes.tolist()
    if not (
        isinstance(index, pandas.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    ) or any(isinstance(dtype, numpy.dtype) and dtype.kind == "O" for dtype in dtypes):
        return pyarrow.Schema.from_pandas(frame)
    key = _frame_key(frame, dtypes)
    cached = _schemas.get(key)
    if cached is None:
        schema = pyarrow.Schema.from_pandas(frame)
        split = _split_metadata(schema, len(frame))
        if split is None:
            return schema
        _remember(_schemas, key, (schema, *split))
        return schema
    return _with_rows(cached, len(frame))


def _frame_key(frame: pandas.DataFrame, dtypes: list[Any] | None = None) -> tuple[Any, ...]:
    dtypes = frame.dtypes.tolist() if dtypes is None else dtypes
    return (str(frame.columns.dtype), tuple(frame.columns), tuple(map(str, dtypes)))


def _with_rows(cached: tuple[pyarrow.Schema, bytes, bytes], rows: int) -> pyarrow.Schema:
    """A cached schema with the row count of another frame of the same columns."""
    schema, head, tail = cached
    metadata = dict(schema.metadata)
    metadata[b"pandas"] = head + str(rows).encode() + tail
    return schema.with_metadata(metadata)


def _split_metadata(schema: pyarrow.Schema, rows: int) -> tuple[bytes, bytes] | None:
    """The schema's pandas metadata around its row count, when the count is its only
    row-dependent part (one RangeIndex of ``rows`` rows) and re-encoding the parsed text
    gives it back byte for byte; otherwise None."""
    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return None
    parsed = json.loads(raw)
    expected = {"kind": "range", "name": None, "start": 0, "stop": rows, "step": 1}
    if parsed.get("index_columns") != [expected] or json.dumps(parsed).encode("utf8") != raw:
        return None
    parsed["index_columns"][0]["stop"] = _STOP
    pieces = json.dumps(parsed).encode("utf8").split(json.dumps(_STOP).encode("utf8"))
    if len(pieces) != 2 or pieces[0] + str(rows).encode() + pieces[1] != raw:
        return None
    return pieces[0], pieces[1]


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
        return inspect_schema(self._paths[0], self._header, self._options)

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
