"""``from_uri(..., "dask")``: lazy arrays from blocks and lazy tables from partitions."""

import dask.array
import dask.dataframe
import numpy
import pandas
import pytest

from tiled.client import DaskArrayClient, DaskTableClient

from .conftest import API_KEY, FRAMES, H5_COUNTS, TABLE, VOLUME, RecordingTransport

pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def client(served):
    with served.client(structure_clients="dask") as client:
        yield client


def test_arrays_are_lazy_and_read_only_the_blocks_used(served):
    transport = RecordingTransport()
    with served.client(structure_clients="dask", transport=transport) as client:
        node = client["frames"]
        assert isinstance(node, DaskArrayClient)
        lazy = node.read()
        assert isinstance(lazy, dask.array.Array)
        assert lazy.chunks == ((1, 1), (64,), (32,))
        before = len(transport.requests)
        assert numpy.array_equal(lazy[1, 10:20].compute(), FRAMES[1, 10:20])
        blocks = [r.url.params["block"] for r in transport.requests[before:]]
        assert blocks == ["1,0,0"]
        assert numpy.array_equal(lazy.compute(), FRAMES)


@pytest.mark.parametrize(
    ("key", "expected"),
    [("volume", VOLUME), ("h5/entry/data/counts", H5_COUNTS), ("scalar", numpy.array(42.5))],
)
def test_dask_arrays_compute_exactly(client, key, expected):
    lazy = client[key].read()
    assert lazy.dtype == expected.dtype
    assert numpy.array_equal(lazy.compute(), expected)


def test_read_with_slice_and_numpy_style_indexing(client):
    node = client["volume"]
    assert numpy.array_equal(node.read(slice=(slice(None, None, 2), 3)).compute(), VOLUME[::2, 3])
    assert numpy.array_equal(node[1:3, ::-1], VOLUME[1:3, ::-1])  # indexing stays eager


def test_tables_are_lazy_per_partition(client):
    node = client["parts"]
    assert isinstance(node, DaskTableClient)
    lazy = node.read()
    assert isinstance(lazy, dask.dataframe.DataFrame)
    assert lazy.npartitions == 2
    frame = lazy.compute().reset_index(drop=True)
    pandas.testing.assert_frame_equal(frame, TABLE, check_dtype=False)
    assert list(node.read(["c"]).compute()["c"]) == list("abcdefghij")


def test_connect_dask_mode(served):
    from tiled.client import from_uri

    with from_uri(served.url, "dask", api_key=API_KEY) as client:
        assert isinstance(client["frames"], DaskArrayClient)
        assert client["many"].structure_clients == "dask"
