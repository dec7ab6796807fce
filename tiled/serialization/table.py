"""Table bodies: Arrow IPC files (what clients read), Parquet, CSV and JSON.

Tables arrive as ``pyarrow.Table`` (a ``pandas.DataFrame`` is accepted too) and keep the
schema metadata they carry, so a pandas reader rebuilds the same index and dtypes.
pyarrow is imported on first use: the server imports this module at start-up, before
it answers anything.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import BadRequestError
from ..media_types import ARROW_FILE, CSV, JSON, PARQUET

if TYPE_CHECKING:
    import pandas
    import pyarrow


def _as_arrow(table: pyarrow.Table | pandas.DataFrame) -> pyarrow.Table:
    import pyarrow

    if isinstance(table, pyarrow.Table):
        return table
    return pyarrow.Table.from_pandas(table)


def encode_table(table: pyarrow.Table | pandas.DataFrame, media_type: str) -> bytes:
    table = _as_arrow(table)
    if media_type == ARROW_FILE:
        return arrow_file_bytes(table)
    if media_type == PARQUET:
        import pyarrow.parquet

        buffer = io.BytesIO()
        pyarrow.parquet.write_table(table, buffer)
        return buffer.getvalue()
    if media_type == CSV:
        return bytes(table.to_pandas().to_csv(index=False).encode())
    if media_type == JSON:
        return orjson.dumps(
            table.to_pydict(), option=orjson.OPT_SERIALIZE_NUMPY, default=_json_default
        )
    raise BadRequestError(f"Tables cannot be encoded as {media_type}")


def arrow_file_bytes(table: pyarrow.Table) -> bytes:
    import pyarrow.ipc

    sink = pyarrow.BufferOutputStream()
    with pyarrow.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float | int | str):
        return value
    return str(value)


def decode_arrow_table(body: bytes) -> pyarrow.Table:
    """An Arrow IPC file body as a ``pyarrow.Table``."""
    import pyarrow.ipc

    return pyarrow.ipc.open_file(pyarrow.py_buffer(body)).read_all()


def decode_table(body: bytes) -> pandas.DataFrame:
    """An Arrow IPC file body as a DataFrame (index rebuilt from the pandas metadata)."""
    return decode_arrow_table(body).to_pandas()
