"""The connection: retries of transport errors and 503s (never of 4xx), and closing."""

import time

import httpx
import pytest

from tiled.client import ClientConnectionError, ClientNotFoundError, ServerError, from_uri

from .conftest import API_KEY, FlakyTransport

pytestmark = pytest.mark.serial


@pytest.fixture
def flaky(served):
    transport = FlakyTransport()
    with from_uri(served.url, api_key=API_KEY, transport=transport, retries=2) as client:
        yield client, transport


def test_connect_errors_are_retried(flaky):
    client, transport = flaky
    transport.fail(2, httpx.ConnectError)
    assert client["frames"].shape == (2, 64, 32)
    assert transport.attempts == 3


def test_retries_are_bounded(flaky):
    client, transport = flaky
    transport.fail(5, httpx.ConnectError)
    with pytest.raises(ClientConnectionError, match="after 3 attempt") as caught:
        client["frames"]
    assert transport.attempts == 3
    assert caught.value.request.url.path == "/api/v1/metadata/frames"
    assert caught.value.response is None


def test_broken_reads_are_retried_for_gets(flaky):
    client, transport = flaky
    array = client["frames"]
    transport.fail(1, httpx.ReadError)
    assert array[1, 0, 0] == 32 * 64
    assert transport.attempts == 2


def test_posts_are_not_repeated_after_a_broken_connection(flaky):
    client, transport = flaky
    many = client["many"]
    transport.fail(1, httpx.ReadError)
    with pytest.raises(ClientConnectionError, match="ReadError"):
        many.create_container("maybe")
    assert transport.attempts == 1


def test_503_is_retried_honouring_retry_after(flaky):
    client, transport = flaky
    transport.fail(1, httpx.Response(503, headers={"Retry-After": "1"}, json={"detail": "busy"}))
    start = time.monotonic()
    assert client["frames"].key == "frames"
    assert time.monotonic() - start >= 0.9
    assert transport.attempts == 2


def test_persistent_503_becomes_server_error(flaky):
    client, transport = flaky
    transport.fail(3, httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "busy"}))
    with pytest.raises(ServerError, match="503: busy") as caught:
        client["frames"]
    assert caught.value.status_code == 503
    assert transport.attempts == 3


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500])
def test_other_errors_are_not_retried(flaky, status):
    client, transport = flaky
    transport.fail(1, httpx.Response(status, json={"detail": "no"}))
    with pytest.raises(Exception, match=f"{status}: no"):
        client["frames"]
    assert transport.attempts == 1


def test_real_404_is_sent_once(flaky):
    client, transport = flaky
    before = len(transport.requests)
    with pytest.raises(ClientNotFoundError):
        client["missing"]
    assert len(transport.requests) == before + 1


def test_close_and_reuse(served):
    client = served.client()
    node = client["many"]
    client.close()
    with pytest.raises(RuntimeError):
        node["n001"]


def test_unreachable_server(served):
    with pytest.raises(ClientConnectionError, match="is the server running"):
        from_uri("http://127.0.0.1:9", api_key=API_KEY, retries=0)
