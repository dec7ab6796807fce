"""Table nodes: partitions as Arrow IPC files, read into pandas, with column selection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..media_types import ARROW_FILE
from ..structures.table import TableStructure
from .base import BaseClient
from .export import export_to

if TYPE_CHECKING:
    import pandas

    from .array import ArrayClient

__all__ = ["DaskTableClient", "DataFrameClient", "TableClient"]

# Longer column lists go in a POST body, as URLs this long are refused by some proxies.
_MAX_QUERY_LENGTH = 4000


class TableClient(BaseClient):
    """A table on the server; ``read()`` gives a pandas DataFrame, ``t["col"]`` one column."""

    def structure(self) -> TableStructure:
        return TableStructure.from_json(self._item["attributes"]["structure"])

    @property
    def columns(self) -> list[str]:
        return list(self.structure().columns)

    @property
    def npartitions(self) -> int:
        return self.structure().npartitions

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __contains__(self, column: object) -> bool:
        return column in self.columns

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.columns}>"

    def __getitem__(self, column: str) -> ArrayClient:
        """One column as an array node (``GET metadata/{table}/{column}``)."""
        from .array import ArrayClient

        if column not in self.columns:
            raise KeyError(
                f"Table {self.path!r} has no column {column!r}; its columns are {self.columns}"
            )
        document = self.context.document(
            "GET", self.context.url("metadata", (*self.path_parts, column))
        )
        return ArrayClient(self.context, document["data"], structure_clients=self.structure_clients)

    def read(self, columns: Sequence[str] | str | None = None) -> pandas.DataFrame:
        """All partitions, concatenated, with only ``columns`` if given (in that order)."""
        import pandas

        columns = self._checked(columns)
        count = self.npartitions
        if count == 0:
            frame = self.structure().arrow_schema_decoded.empty_table().to_pandas()
            return frame[columns] if columns else frame
        frames = [self.read_partition(i, columns) for i in range(count)]
        if len(frames) == 1:
            return frames[0]
        default_index = all(isinstance(f.index, pandas.RangeIndex) for f in frames)
        return pandas.concat(frames, ignore_index=default_index)

    def read_partition(
        self, partition: int, columns: Sequence[str] | str | None = None
    ) -> pandas.DataFrame:
        """Partition ``partition`` (0 … npartitions-1) as a DataFrame."""
        from ..serialization.table import decode_table

        count = self.npartitions
        if not -count <= partition < count:
            raise IndexError(f"partition {partition} is out of range; {self.path!r} has {count}")
        partition = partition + count if partition < 0 else partition
        columns = self._checked(columns)
        url = self._item["links"]["partition"].split("?", 1)[0]
        params: list[tuple[str, Any]] = [("partition", str(partition))]
        column_params = [("column", c) for c in columns or ()]
        headers = {"Accept": ARROW_FILE}
        if sum(len(c) + 8 for c in columns or ()) > _MAX_QUERY_LENGTH:
            response = self.context.request(
                "POST", url, params=params, json=list(columns or ()), headers=headers
            )
        else:
            response = self.context.request(
                "GET", url, params=params + column_params, headers=headers
            )
        return decode_table(response.content)

    def _checked(self, columns: Sequence[str] | str | None) -> list[str] | None:
        if columns is None:
            return None
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in wanted if c not in self.columns]
        if unknown:
            raise KeyError(
                f"Table {self.path!r} has no column(s) {unknown}; its columns are {self.columns}"
            )
        return wanted

    def export(
        self,
        filename_or_buffer: Any,
        *,
        format: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        """Write the table in a format the server offers (``csv``, ``parquet``, ``json``...)."""
        params = [("column", c) for c in self._checked(columns) or ()]
        export_to(self, self._item["links"]["full"], filename_or_buffer, format, params)


DataFrameClient = TableClient


class DaskTableClient(TableClient):
    """Like :class:`TableClient`, but ``read()`` returns a lazy dask DataFrame, one
    partition per server partition. Needs dask (``pip install "dask[dataframe]"``)."""

    def read(self, columns: Sequence[str] | str | None = None) -> Any:
        from ._dask import dask_dataframe

        return dask_dataframe(self, self._checked(columns))
