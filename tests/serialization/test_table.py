import io

import orjson
import pandas
import pyarrow
import pyarrow.parquet

from tiled.media_types import ARROW_FILE, CSV, JSON, PARQUET
from tiled.serialization.table import decode_arrow_table, decode_table, encode_table

FRAME = pandas.DataFrame({"a": [1, 2], "b": [0.5, None], "c": ["x", "y"]})


def test_arrow_file_round_trip_keeps_the_pandas_index():
    framed = FRAME.set_index(pandas.Index([10, 20], name="i"))
    body = encode_table(pyarrow.Table.from_pandas(framed), ARROW_FILE)
    assert body[:6] == b"ARROW1"
    pandas.testing.assert_frame_equal(decode_table(body), framed)
    assert decode_arrow_table(body).num_rows == 2


def test_other_formats():
    table = pyarrow.Table.from_pandas(FRAME)
    assert pyarrow.parquet.read_table(io.BytesIO(encode_table(table, PARQUET))).num_rows == 2
    assert encode_table(table, CSV).decode().splitlines() == ["a,b,c", "1,0.5,x", "2,,y"]
    assert orjson.loads(encode_table(table, JSON)) == {
        "a": [1, 2],
        "b": [0.5, None],
        "c": ["x", "y"],
    }
    assert encode_table(FRAME, CSV) == encode_table(table, CSV)  # a DataFrame is accepted
