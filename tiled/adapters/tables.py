"""What every table format shares: partitions, column selection, conformance to the
registered schema, and a column viewed as a 1-D array.

Formats implement ``_partition_count()``, ``_schema()`` (from headers where the format
has them) and ``_read_partition(i, columns)`` returning a ``pyarrow.Table`` holding just
those columns. Tables travel as Arrow end to end; pandas is used only by the formats
whose reader is pandas (CSV, Excel).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import pyarrow

from ..errors import BadRequestError, DataGoneError, InvalidSliceError, NotFoundError
from ..structures.array import ArrayStructure
from ..structures.core import Spec, StructureFamily
from ..structures.table import TableStructure
from .array_base import ArrayAdapterBase, string_dtype_for
from .selection import Normalised, as_slices


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
        self._structure = structure if isinstance(structure, TableStructure) else None
        self._metadata = dict(metadata or {})
        self._specs = list(specs or [])

    # What a format implements.
    def _partition_count(self) -> int:
        return len(self._paths)

    def _schema(self) -> pyarrow.Schema:
        raise NotImplementedError

    def _read_partition(self, partition: int, columns: list[str] | None) -> pyarrow.Table:
        raise NotImplementedError

    def _partition_nbytes(self, partition: int) -> int | None:
        """Roughly how many bytes partition ``partition`` takes once read (None: unknown)."""
        return None

    # The protocol.
    def structure(self) -> TableStructure:
        if self._structure is None:
            self._structure = TableStructure.from_schema(self._schema(), self._partition_count())
        return self._structure

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def specs(self) -> list[Spec]:
        return self._specs

    def read_partition(self, partition: int, columns: Sequence[str] | None = None) -> pyarrow.Table:
        count = self.structure().npartitions
        if not 0 <= partition < count:
            raise InvalidSliceError(
                f"Partition out of range: {partition} (this table has {count} partitions)"
            )
        wanted = self._checked_columns(columns)
        return self._conform(self._read_partition(partition, wanted), wanted)

    def read(self, columns: Sequence[str] | None = None) -> pyarrow.Table:
        """Every partition, in order, as one table."""
        count = self.structure().npartitions
        parts = [self.read_partition(i, columns) for i in range(count)]
        if len(parts) == 1:
            return parts[0]
        # Each part's pandas metadata describes its own row index; the whole has its own.
        parts = [p.replace_schema_metadata(None) for p in parts]
        try:
            return pyarrow.concat_tables(parts, promote_options="permissive")
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError) as err:
            raise DataGoneError(f"the partitions no longer share one schema ({err})") from err

    def column(self, name: str) -> ColumnAdapter:
        if name not in self.structure().columns:
            raise NotFoundError(
                f"No column {name!r}; the columns are {list(self.structure().columns)}"
            )
        return ColumnAdapter(self, name)

    def estimated_nbytes(
        self, partition: int | None = None, columns: Sequence[str] | None = None
    ) -> int | None:
        partitions = range(self.structure().npartitions) if partition is None else [partition]
        sizes = [self._partition_nbytes(i) for i in partitions]
        if any(size is None for size in sizes):
            return None
        total = sum(size or 0 for size in sizes)
        all_columns = self.structure().columns
        if columns and all_columns:
            total = total * len(columns) // len(all_columns)
        return total

    def _checked_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if not columns:
            return None
        known = self.structure().columns
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise BadRequestError(
                f"The table has no column(s) {unknown}; its columns are {list(known)}"
            )
        return list(columns)

    def _conform(self, table: pyarrow.Table, columns: list[str] | None) -> pyarrow.Table:
        """The columns asked for, in that order, with the registered types."""
        wanted = columns or list(self.structure().columns)
        missing = [c for c in wanted if c not in table.column_names]
        if missing:
            raise DataGoneError(
                f"the file no longer has column(s) {missing}; it changed after registration"
            )
        if columns:
            table = table.select(columns)
        registered = self.structure().arrow_schema_decoded
        fields = []
        for field in table.schema:
            index = registered.get_field_index(field.name)
            fields.append(registered.field(index) if index >= 0 else field)
        # The registered pandas metadata, when there is one, so that a client rebuilding
        # pandas dtypes from a partition gets the ones the registered schema promises.
        metadata = registered.metadata if _has_pandas(registered) else table.schema.metadata
        target = pyarrow.schema(fields, metadata=metadata)
        if target.equals(table.schema, check_metadata=True):
            return table
        if target.equals(table.schema, check_metadata=False):
            return table.replace_schema_metadata(metadata)
        try:
            return table.cast(target)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError) as err:
            raise DataGoneError(
                f"the data no longer fits the registered column types ({err}); it changed "
                "after registration"
            ) from err


def _has_pandas(schema: pyarrow.Schema) -> bool:
    return bool(schema.metadata) and b"pandas" in schema.metadata


class ColumnAdapter(ArrayAdapterBase):
    """One column of a table as a 1-D array of ``nrows`` (one block)."""

    def __init__(self, table: TableAdapterBase, name: str) -> None:
        super().__init__()
        self._table = table
        self._name = name
        self._values: numpy.ndarray | None = None

    def _column(self) -> numpy.ndarray:
        if self._values is None:
            self._values = column_values(self._table.read([self._name]).column(self._name))
        return self._values

    def _inspect(self) -> ArrayStructure:
        return ArrayStructure.from_array(self._column())

    def _read(self, selection: Normalised) -> numpy.ndarray:
        return self._column()[as_slices(selection)]


def column_values(column: pyarrow.ChunkedArray) -> numpy.ndarray:
    """A column as numpy: nulls in numbers become NaN, text becomes fixed-width unicode."""
    if pyarrow.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values: numpy.ndarray = column.to_numpy()
    if values.dtype.kind in "OT":
        if pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type):
            texts = numpy.array(["" if v is None else v for v in values], dtype=object)
            values = texts.astype(string_dtype_for(texts))
        else:
            raise BadRequestError(
                f"A column of type {column.type} cannot be served as an array; read the table"
            )
    return values
