"""Array nodes: whole reads, numpy basic indexing, blocks, split reads, dtypes, export."""

import io
import json

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tiled.client import ArrayClient, ClientBadRequestError
from tiled.errors import BadRequestError

from .conftest import BIG_ENDIAN, FRAMES, H5_COUNTS, RECORDS, VOLUME, RecordingTransport

pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def client(served):
    with served.client() as client:
        yield client


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("frames", FRAMES),
        ("big_endian", BIG_ENDIAN),
        ("records", RECORDS),
        ("volume", VOLUME),
        ("h5/entry/data/counts", H5_COUNTS),
    ],
)
def test_read_whole_with_exact_dtype(client, key, expected):
    array = client[key]
    data = array.read()
    assert data.dtype == expected.dtype
    assert numpy.array_equal(data, expected)
    assert data.flags.writeable
    assert numpy.array_equal(numpy.asarray(array), expected)


def test_big_endian_and_structured_dtypes_survive(client):
    assert client["big_endian"].dtype.str == ">f8"
    assert client["big_endian"][1:3, ::-2].dtype.str == ">f8"
    records = client["records"]
    assert records.dtype.names == ("a", "b", "c")
    assert records[2]["c"] == b"r2"
    assert numpy.array_equal(records[::2], RECORDS[::2])


def test_scalar(client):
    scalar = client["scalar"]
    assert scalar.shape == ()
    assert scalar.read().shape == ()
    assert scalar.read()[()] == 42.5
    assert scalar[()] == 42.5
    assert scalar[...].shape == ()
    with pytest.raises(TypeError, match="0-d"):
        len(scalar)


@pytest.mark.parametrize(
    "key",
    [
        0,
        -1,
        (1, 2),
        (1, 9, slice(None)),
        slice(None, None, -1),
        (slice(1, 5, 2), slice(None), -1),
        (Ellipsis, 0),
        (0, Ellipsis),
        (slice(None), slice(None, None, 3)),
        (None, 2),
        (slice(4, 1, -1), None, slice(2, 3)),
        slice(3, 3),
        (numpy.int64(2), numpy.int8(-1)),
    ],
)
def test_basic_indexing_matches_numpy(client, key):
    got = client["volume"][key]
    expected = VOLUME[key]
    assert got.shape == expected.shape
    assert numpy.array_equal(got, expected)


def test_full_integer_index_gives_a_scalar(client):
    value = client["volume"][1, 2, 3]
    assert isinstance(value, numpy.uint16)
    assert value == VOLUME[1, 2, 3]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_property_basic_indices(client, data):
    key = data.draw(hnp.basic_indices(VOLUME.shape, min_dims=0, allow_newaxis=True))
    assert numpy.array_equal(client["volume"][key], VOLUME[key])


def test_slice_is_sent_expanded_with_expected_shape(served):
    transport = RecordingTransport()
    with served.client(transport=transport) as client:
        array = client["volume"]
        array[0, 1:3]
        array[..., 0]
        array.read()
    reads = [r.url.params for r in transport.requests if "/array/full/" in r.url.path]
    assert dict(reads[0]) == {"expected_shape": "2,12", "slice": "0,1:3:1,0:12:1"}
    assert dict(reads[1]) == {"expected_shape": "6,10", "slice": "0:6:1,0:10:1,0"}
    assert dict(reads[2]) == {"expected_shape": "6,10,12"}


@pytest.mark.parametrize(
    ("key", "error", "match"),
    [
        (6, IndexError, "out of bounds for axis 0 with size 6"),
        ((0, 0, 0, 0), IndexError, "too many indices"),
        ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
        ([0, 1], TypeError, "fancy indexing"),
        (True, TypeError, "only integers"),
        (slice(None, None, 0), ValueError, "step"),
        ("a", TypeError, "only integers"),
    ],
)
def test_bad_indices_fail_like_numpy_without_a_request(served, key, error, match):
    transport = RecordingTransport()
    with served.client(transport=transport) as client:
        array = client["volume"]
        before = len(transport.requests)
        with pytest.raises(error, match=match):
            array[key]
        assert len(transport.requests) == before


def test_server_refuses_bad_slices_with_a_clear_4xx(client):
    url = client["volume"].item["links"]["full"]
    with pytest.raises(ClientBadRequestError, match="400: Index 9 is out of range") as caught:
        client.context.request("GET", url, params={"slice": "9"})
    assert isinstance(caught.value, BadRequestError)
    with pytest.raises(ClientBadRequestError, match=r"422: query\.slice") as caught:
        client.context.request("GET", url, params={"slice": "0;1"})
    assert caught.value.detail[0]["loc"] == ["query", "slice"]


def test_large_reads_are_split_into_bounded_requests(served):
    transport = RecordingTransport()
    with served.client(transport=transport, max_bytes_per_request=500) as client:
        array = client["volume"]  # 6 x 10 x 12 uint16: 240 bytes per frame
        assert numpy.array_equal(array.read(), VOLUME)
        assert numpy.array_equal(array[::-1, 3:, ::5], VOLUME[::-1, 3:, ::5])
        small = client.context.max_bytes_per_request = 100  # less than one frame
        assert numpy.array_equal(array[1:4, 2:9], VOLUME[1:4, 2:9])
    sizes = [
        s
        for r, s in zip(transport.requests, transport.sizes, strict=True)
        if "/array/" in r.url.path
    ]
    # 3 requests of 2 frames, 1 small slice, then each of 3 frames in 2 pieces of rows.
    assert sizes == [480, 480, 480, 252, 96, 72, 96, 72, 96, 72]
    assert max(sizes[4:]) <= small


def test_read_block(client):
    frames = client["frames"]
    assert frames.chunks == ((1, 1), (64,), (32,))
    assert numpy.array_equal(frames.read_block((1, 0, 0)), FRAMES[1:2])
    assert numpy.array_equal(
        frames.read_block((-1, 0, 0), slice=(0, slice(None, None, 2), -1)), FRAMES[1, ::2, -1]
    )
    counts = client["h5/entry/data/counts"]
    assert counts.chunks == ((5, 5), (20,))
    assert numpy.array_equal(counts.read_block((1, 0)), H5_COUNTS[5:])
    with pytest.raises(IndexError, match="outside the 2 blocks along axis 0"):
        frames.read_block((2, 0, 0))
    with pytest.raises(IndexError, match="one index per dimension"):
        frames.read_block((0, 0))


def test_properties_and_repr(client):
    frames = client["frames"]
    assert isinstance(frames, ArrayClient)
    assert (frames.shape, frames.ndim, frames.size, len(frames)) == ((2, 64, 32), 3, 4096, 2)
    assert frames.dtype == numpy.dtype("int32")
    assert frames.nbytes == 4096 * 4
    assert frames.dims == ("time", "x", "y")
    assert frames.structure().data_type.itemsize == 4
    assert repr(frames) == "<ArrayClient shape=(2, 64, 32) chunks=(1, 64, 32) dtype=int32>"
    assert "dtype=>f8" in repr(client["big_endian"])
    assert frames.metadata["sample"] == "Ni"


def test_export(client, tmp_path):
    frames = client["frames"]
    frames.export(tmp_path / "frame.csv", slice=(0, slice(0, 3), slice(0, 4)))
    exported = numpy.loadtxt(tmp_path / "frame.csv", delimiter=",", dtype="int32")
    assert numpy.array_equal(exported, FRAMES[0, :3, :4])
    assert not list(tmp_path.glob("*.part"))
    buffer = io.BytesIO()
    frames.export(buffer, format="json", slice=(1, 0, slice(0, 5)))
    assert json.loads(buffer.getvalue()) == FRAMES[1, 0, :5].tolist()
    with pytest.raises(ValueError, match="cannot export a array as 'gif'"):
        frames.export(tmp_path / "x.gif")
    with pytest.raises(ValueError, match="Give format="):
        frames.export(io.BytesIO())
