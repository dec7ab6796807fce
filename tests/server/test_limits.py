"""Request body size, response size, per-request timeouts and stalled clients."""

import os
import socket
import threading
import time

import httpx
import numpy
import pytest
import tifffile

from tiled.testing.server import run_server

from .conftest import API_KEY, tiff_pair_body

AUTH = {"Authorization": f"Apikey {API_KEY}"}
pytestmark = pytest.mark.serial


@pytest.fixture
def limited(sqlite_uri, data_dir):
    """A server with small limits and short timeouts."""
    with run_server(
        sqlite_uri,
        readable=[data_dir],
        api_key=API_KEY,
        max_request_bytes=4096,
        max_response_bytes=2 * 1024**2,
        request_timeout=5.0,
        idle_timeout=1.0,
        read_concurrency=2,
    ) as url:
        yield url


def big_registration_body(data_dir):
    body = tiff_pair_body(data_dir)
    body["metadata"] = {"padding": "x" * 10_000}
    return body


def test_declared_body_over_the_limit_is_413(limited, data_dir):
    response = httpx.post(
        f"{limited}/api/v1/register/", json=big_registration_body(data_dir), headers=AUTH
    )
    assert response.status_code == 413
    assert "4,096 bytes" in response.json()["detail"]


def test_streamed_body_over_the_limit_is_413(limited, data_dir):
    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    response = httpx.post(f"{limited}/api/v1/register/", content=chunks(), headers=AUTH)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_body_under_the_limit_is_accepted(limited, data_dir):
    response = httpx.post(
        f"{limited}/api/v1/register/", json=tiff_pair_body(data_dir), headers=AUTH
    )
    assert response.status_code == 200


def test_response_over_the_limit_is_a_clear_400(sqlite_uri, data_dir):
    with run_server(
        sqlite_uri, readable=[data_dir], api_key=API_KEY, max_response_bytes=300
    ) as url:
        response = httpx.get(f"{url}/api/v1/", headers=AUTH)  # the root document is larger
        assert response.status_code == 400
        assert "limit of 300 bytes" in response.json()["detail"]
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_array_over_the_limit_is_refused_before_reading(limited, data_dir):
    big = numpy.zeros((1024, 1024), dtype="float64")  # 8 MiB > 2 MiB
    tifffile.imwrite(data_dir / "big.tiff", big)
    body = tiff_pair_body(data_dir, key="big", names=("big.tiff",))
    source = body["data_sources"][0]
    source["mimetype"] = "image/tiff"
    source["structure"].update(
        data_type={"endianness": "little", "kind": "f", "itemsize": 8, "dt_units": None},
        shape=[1024, 1024],
        chunks=[[1024], [1024]],
        dims=None,
    )
    source["assets"][0].pop("num")
    assert httpx.post(f"{limited}/api/v1/register/", json=body, headers=AUTH).status_code == 200
    response = httpx.get(f"{limited}/api/v1/array/full/big", headers=AUTH)
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]


def raw_request(url, request: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(request)
    return sock


def read_all(sock) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock) -> bytes:
    """One small response: the head, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_stalled_request_body_is_408_and_does_not_block_others(limited):
    sock = raw_request(
        limited,
        b"POST /api/v1/metadata/ HTTP/1.1\r\nHost: x\r\nAuthorization: Apikey secret\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":',
    )
    try:
        started = time.monotonic()
        assert httpx.get(f"{limited}/healthz").status_code == 200  # served meanwhile
        reply = read_response(sock)
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert b"stalled" in reply
        assert time.monotonic() - started < 8
    finally:
        sock.close()


def test_slow_reader_is_dropped_without_pinning_the_server(sqlite_uri, data_dir):
    frames = numpy.ones((2, 2048, 2048), dtype="int32")  # 32 MiB
    tifffile.imwrite(data_dir / "image1.tiff", frames[0])
    tifffile.imwrite(data_dir / "image2.tiff", frames[1])
    body = tiff_pair_body(data_dir)
    body["data_sources"][0]["structure"].update(
        shape=[2, 2048, 2048], chunks=[[1, 1], [2048], [2048]]
    )
    with run_server(sqlite_uri, readable=[data_dir], api_key=API_KEY, idle_timeout=1.0) as url:
        assert httpx.post(f"{url}/api/v1/register/", json=body, headers=AUTH).status_code == 200
        sock = raw_request(
            url,
            b"GET /api/v1/array/full/pair HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Apikey secret\r\n\r\n",
        )
        try:
            time.sleep(0.5)  # the server is now blocked on this client's socket
            started = time.monotonic()
            for _ in range(5):
                response = httpx.get(f"{url}/api/v1/metadata/pair", headers=AUTH)
                assert response.status_code == 200
            assert time.monotonic() - started < 2
            time.sleep(2.5)  # past the idle timeout: the server gives up on the client
            received = len(read_all(sock))
            assert received < 32 * 1024**2
        finally:
            sock.close()


# tifffile leaves its handle of the FIFO unclosed when the read fails after the test
# unblocks it; the server itself has already answered.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_request_timeout_answers_503_while_a_read_hangs(sqlite_uri, data_dir):
    """A file that blocks on open (a FIFO with no writer, like a hung mount)."""
    with run_server(
        sqlite_uri, readable=[data_dir], api_key=API_KEY, request_timeout=1.0, read_concurrency=1
    ) as url:
        assert (
            httpx.post(
                f"{url}/api/v1/register/", json=tiff_pair_body(data_dir), headers=AUTH
            ).status_code
            == 200
        )
        fifo = data_dir / "image1.tiff"
        fifo.unlink()
        os.mkfifo(fifo)
        try:
            started = time.monotonic()
            response = httpx.get(f"{url}/api/v1/array/block/pair?block=0,0,0", headers=AUTH)
            assert response.status_code == 503
            assert "longer than" in response.json()["detail"]
            assert "Retry-After" in response.headers
            assert time.monotonic() - started < 5
            # The hung thread keeps its read slot; the metadata routes need none.
            assert httpx.get(f"{url}/api/v1/metadata/pair", headers=AUTH).status_code == 200
        finally:
            unblock = threading.Thread(target=lambda: open(fifo, "wb").close())
            unblock.start()
            unblock.join(timeout=10)
