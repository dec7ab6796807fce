import io

import numpy
import orjson
import pytest
import tifffile
from PIL import Image

from tiled.errors import BadRequestError
from tiled.media_types import CSV, JSON, OCTET_STREAM, PNG, TIFF
from tiled.serialization.array import decode_array, encode_array, encoded_size


@pytest.mark.parametrize(
    "array",
    [
        numpy.arange(12, dtype=">i4").reshape(3, 4),
        numpy.arange(12, dtype="<f8").reshape(3, 4)[:, ::2],  # not contiguous
        numpy.zeros(3, [("a", "<i2"), ("b", ">f4", (2,))]),
        numpy.array(7, dtype="u2"),
        numpy.zeros((0, 5)),
    ],
)
def test_octet_stream_is_c_order_in_declared_byte_order(array):
    body = encode_array(array, OCTET_STREAM)
    assert bytes(body) == numpy.ascontiguousarray(array).tobytes()
    assert numpy.array_equal(decode_array(bytes(body), array.dtype, array.shape), array)


def test_octet_stream_of_contiguous_data_is_not_copied():
    array = numpy.arange(1000.0)
    view = encode_array(array, OCTET_STREAM)
    assert isinstance(view, memoryview)
    assert numpy.shares_memory(numpy.frombuffer(view, "u1"), array)


def test_json_of_awkward_dtypes():
    records = numpy.zeros(2, [("id", "i4"), ("name", "S3"), ("xy", "f4", (2,))])
    records["name"] = [b"ab", b"c"]
    assert orjson.loads(encode_array(records, JSON)) == [
        {"id": 0, "name": "ab", "xy": [0.0, 0.0]},
        {"id": 0, "name": "c", "xy": [0.0, 0.0]},
    ]
    assert orjson.loads(encode_array(numpy.array([1 + 2j]), JSON)) == [[1.0, 2.0]]
    times = numpy.array(["2024-01-01T00:00"], "datetime64[m]")
    assert orjson.loads(encode_array(times, JSON)) == ["2024-01-01T00:00"]
    assert orjson.loads(encode_array(numpy.array([numpy.nan, 1.0]), JSON)) == [None, 1.0]
    assert orjson.loads(encode_array(numpy.array([b"x"], "S1"), JSON)) == ["x"]


def test_csv_rows():
    assert encode_array(numpy.array([[1, 2], [3, 4]]), CSV) == b"1,2\n3,4\n"
    assert encode_array(numpy.array([1.5, 2.5]), CSV) == b"1.5\n2.5\n"
    with pytest.raises(BadRequestError, match="2-D"):
        encode_array(numpy.zeros((2, 2, 2)), CSV)


def test_image_previews():
    data = numpy.arange(64, dtype="uint16").reshape(8, 8)
    png = encode_array(data, PNG)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (8, 8)
        assert numpy.asarray(image).max() == 255
    assert numpy.array_equal(tifffile.imread(io.BytesIO(encode_array(data, TIFF))), data)
    with pytest.raises(BadRequestError, match="2-D"):
        encode_array(numpy.zeros((2, 2, 2)), PNG)
    nan_image = encode_array(numpy.array([[numpy.nan, 1.0], [2.0, 3.0]]), PNG)
    assert nan_image.startswith(b"\x89PNG")


def test_size_estimates():
    assert encoded_size((10, 10), 8, OCTET_STREAM) == 800
    assert encoded_size((10, 10), 8, JSON) > 800
