"""Table structure: an Arrow schema, a partition count and the column names.

The schema travels as a ``data:`` URI holding an Arrow IPC-encapsulated Schema message
(``spec/structures.md`` §2.3). pyarrow is imported only by the helpers that need it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["TableStructure"]

ARROW_SCHEMA_PREFIX = "data:application/vnd.apache.arrow.file;base64,"


@dataclass(frozen=True)
class TableStructure:
    """Columns and partitions of a table; partition *i* is served separately."""

    arrow_schema: str
    npartitions: int
    columns: tuple[str, ...]
    resizable: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.arrow_schema, str) or not self.arrow_schema.startswith(
            ARROW_SCHEMA_PREFIX
        ):
            raise ValueError(f"arrow_schema must be a string starting with {ARROW_SCHEMA_PREFIX!r}")
        if isinstance(self.npartitions, bool) or not isinstance(self.npartitions, int):
            raise ValueError(f"npartitions must be an integer, not {self.npartitions!r}")
        if self.npartitions < 0:
            raise ValueError(f"npartitions must not be negative, got {self.npartitions}")
        columns = tuple(self.columns)
        if not all(isinstance(c, str) for c in columns):
            raise ValueError(f"column names must be strings, got {list(columns)!r}")
        object.__setattr__(self, "columns", columns)
        if self.resizable not in (False, None):
            raise ValueError("Resizable tables are not supported; send resizable=false")

    @property
    def arrow_schema_bytes(self) -> bytes:
        return base64.b64decode(self.arrow_schema[len(ARROW_SCHEMA_PREFIX) :])

    @property
    def arrow_schema_decoded(self) -> pyarrow.Schema:
        import pyarrow

        return pyarrow.ipc.read_schema(pyarrow.py_buffer(self.arrow_schema_bytes))

    @classmethod
    def from_schema(cls, schema: pyarrow.Schema, npartitions: int = 1) -> TableStructure:
        encoded = base64.b64encode(schema.serialize().to_pybytes()).decode()
        columns = tuple(name for name in schema.names if name not in _index_columns(schema))
        return cls(ARROW_SCHEMA_PREFIX + encoded, npartitions, columns)

    @classmethod
    def from_pandas(cls, df: pandas.DataFrame, npartitions: int = 1) -> TableStructure:
        import pyarrow

        return cls.from_schema(pyarrow.Table.from_pandas(df).schema, npartitions)

    @classmethod
    def from_arrow_table(cls, table: pyarrow.Table, npartitions: int = 1) -> TableStructure:
        return cls.from_schema(table.schema, npartitions)

    def to_json(self) -> dict[str, Any]:
        return {
            "arrow_schema": self.arrow_schema,
            "npartitions": self.npartitions,
            "columns": list(self.columns),
            "resizable": False,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> TableStructure:
        if not isinstance(value, dict):
            raise ValueError("Table structure must be an object")
        unknown = set(value) - {"arrow_schema", "npartitions", "columns", "resizable"}
        if unknown:
            raise ValueError(f"Unknown field(s) in table structure: {sorted(unknown)}")
        missing = {"arrow_schema", "npartitions", "columns"} - set(value)
        if missing:
            raise ValueError(f"Table structure is missing {sorted(missing)}")
        return cls(
            value["arrow_schema"],
            value["npartitions"],
            tuple(value["columns"]),
            value.get("resizable", False),
        )


def _index_columns(schema: pyarrow.Schema) -> set[str]:
    """Names of stored pandas index columns, which are not user columns."""
    import json

    raw = (schema.metadata or {}).get(b"pandas")
    if not raw:
        return set()
    names = json.loads(raw).get("index_columns", [])
    return {n for n in names if isinstance(n, str)}
