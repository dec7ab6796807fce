"""Table bodies: Arrow IPC files (what clients read), Parquet, CSV and JSON."""

from __future__ import annotations

import io

import orjson
import pandas
import pyarrow
import pyarrow.parquet

from ..errors import BadRequestError
from ..media_types import ARROW_FILE, CSV, JSON, PARQUET


def encode_table(frame: pandas.DataFrame, media_type: str) -> bytes:
    if media_type == ARROW_FILE:
        table = pyarrow.Table.from_pandas(frame)
        sink = pyarrow.BufferOutputStream()
        with pyarrow.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()
    if media_type == PARQUET:
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        return buffer.getvalue()
    if media_type == CSV:
        return frame.to_csv(index=False).encode()
    if media_type == JSON:
        return orjson.dumps(
            {str(c): frame[c].tolist() for c in frame.columns}, option=orjson.OPT_SERIALIZE_NUMPY
        )
    raise BadRequestError(f"Tables cannot be encoded as {media_type}")


def decode_table(body: bytes) -> pandas.DataFrame:
    return pyarrow.ipc.open_file(pyarrow.py_buffer(body)).read_all().to_pandas()
