"""Large array bodies: plain ones are received straight from the socket into the result,
compressed ones chunk by chunk; both give exact values, and a body cut short is retried
and then reported, leaving the client usable."""

import httpx
import numpy
import pytest
import tifffile

import tiled.client.context as context
from tiled.client import from_uri
from tiled.client.errors import ClientConnectionError
from tiled.testing.served import registration_body
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial
API_KEY = "secret"
NOISE = numpy.random.default_rng(3).normal(size=(64, 128, 64))  # 4 MiB, does not compress
ZEROS = numpy.zeros((64, 128, 64), ">f8")  # compresses: the server sends it encoded
STACK = numpy.random.default_rng(4).integers(0, 60000, (80, 512, 512), dtype="uint16")


@pytest.fixture
def served(tmp_path):
    numpy.save(tmp_path / "noise.npy", NOISE)
    numpy.save(tmp_path / "zeros.npy", ZEROS)
    tifffile.imwrite(tmp_path / "stack.tif", STACK)  # 40 MiB, streamed by the server in parts
    with run_server(str(tmp_path / "catalog.db"), readable=[tmp_path], api_key=API_KEY) as url:
        for key, mimetype, name in (
            ("noise", "application/x-npy", "noise.npy"),
            ("zeros", "application/x-npy", "zeros.npy"),
            ("stack", "image/tiff", "stack.tif"),
        ):
            body = registration_body(key, mimetype, [tmp_path / name])
            response = httpx.post(
                f"{url}/api/v1/register/", json=body, headers={"Authorization": f"Apikey {API_KEY}"}
            )
            assert response.status_code == 200, response.text
        yield url, tmp_path


@pytest.fixture
def paths_taken(monkeypatch):
    """Which body path each read took: True for straight from the socket."""
    taken: list[bool] = []
    original = context._plain_body_socket

    def observed(response, expected):
        sock = original(response, expected)
        taken.append(sock is not None)
        return sock

    monkeypatch.setattr(context, "_plain_body_socket", observed)
    return taken


def test_plain_bodies_are_received_directly_and_exactly(served, paths_taken):
    url, _ = served
    with from_uri(url, api_key=API_KEY, max_bytes_per_request=1_500_000) as client:
        noise = client["noise"]
        assert numpy.array_equal(noise.read(), NOISE)  # three requests of 1.25 MiB
        assert paths_taken == [True, True, True]
        assert numpy.array_equal(noise[5:60:3, ::-1, 7], NOISE[5:60:3, ::-1, 7])  # small
        assert paths_taken[-1] is False
        assert numpy.array_equal(noise.read_block((0, 0, 0)), NOISE[: noise.chunks[0][0]])
        assert numpy.array_equal(noise.read(), NOISE)  # again, on fresh connections


def test_compressed_bodies_go_chunk_by_chunk(served, paths_taken):
    url, _ = served
    with from_uri(url, api_key=API_KEY) as client:
        zeros = client["zeros"]
        assert numpy.array_equal(zeros.read(), ZEROS)
        assert zeros.read().dtype == numpy.dtype(">f8")
        assert not any(paths_taken)


def test_a_body_cut_short_is_retried_then_reported(served, paths_taken):
    url, data = served
    with from_uri(url, api_key=API_KEY, retries=1) as client:
        stack = client["stack"]
        path = data / "stack.tif"
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
        with pytest.raises(ClientConnectionError, match="2 attempt"):
            stack.read()
        assert paths_taken[:2] == [True, True]
        assert numpy.array_equal(stack[0:2], STACK[0:2])
        assert numpy.array_equal(client["noise"].read(), NOISE)
