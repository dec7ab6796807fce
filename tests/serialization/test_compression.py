import numpy
import pytest

from tiled.serialization.compression import (
    compress,
    compress_chunks,
    decompress,
    negotiate,
    worth_compressing,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("gzip, deflate", "gzip"),
        ("gzip, deflate, zstd, blosc2", "zstd"),
        ("zstd;q=0, gzip", "gzip"),
        ("identity", None),
        ("br", None),
    ],
)
def test_negotiation(header, expected):
    assert negotiate(header) == expected


def test_only_compressible_bodies_are_worth_it():
    noise = numpy.random.default_rng(0).normal(size=100_000).tobytes()
    ramp = numpy.arange(100_000, dtype="int64").tobytes()
    assert not worth_compressing(noise, "application/octet-stream")
    assert worth_compressing(ramp, "application/octet-stream")
    assert worth_compressing(memoryview(ramp), "application/octet-stream")
    assert not worth_compressing(ramp[:1000], "application/octet-stream")
    assert not worth_compressing(ramp, "image/png")


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_round_trip(encoding):
    body = numpy.repeat(numpy.arange(1000, dtype="int32"), 600).tobytes()
    packed = compress(memoryview(body), encoding)
    assert len(packed) < len(body) / 2
    assert decompress(packed, encoding) == body
    streamed = b"".join(compress_chunks(body, encoding))
    assert decompress(streamed, encoding) == body


def test_unknown_encoding():
    with pytest.raises(ValueError, match="brotli"):
        compress(b"x" * 10, "brotli")
