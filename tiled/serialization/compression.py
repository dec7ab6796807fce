"""Content codings for data bodies: zstd or gzip when the client asks, and only when the
body actually compresses.

Deciding costs one small sample: a few windows of the body are compressed, and unless
they shrink clearly the body goes out as is. Random floating-point data (most detector
and simulation output) does not compress, and compressing 128 MB of it only to send the
same number of bytes would halve throughput.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

MIN_BYTES = 1400
"""Bodies smaller than one network packet are never compressed."""
WORTHWHILE_RATIO = 0.8
"""Compress only if the sample shrinks to this fraction of its size or less."""
_WINDOW = 4 * 1024
"""Three windows of this size (start, middle, end) make the sample: enough to tell noise
from structure, cheap enough to take on every response (about 0.1 ms)."""
_CHUNK = 1024 * 1024
_ALREADY_COMPRESSED = frozenset({"image/png", "image/jpeg", "application/x-parquet"})


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


def negotiate(accept_encoding: str | None) -> str | None:
    """The coding to use from an ``Accept-Encoding`` header: zstd, then gzip, else None."""
    if not accept_encoding:
        return None
    accepted = set()
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip()
        if quality.startswith("q=") and _quality(quality[2:]) == 0:
            continue
        accepted.add(name.strip().lower())
    if "zstd" in accepted and _zstd() is not None:
        return "zstd"
    if "gzip" in accepted:
        return "gzip"
    return None


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0


def worth_compressing(body: bytes | memoryview, media_type: str) -> bool:
    """Whether compressing ``body`` is likely to pay: big enough, and a sample shrinks."""
    if len(body) < MIN_BYTES or media_type.split(";")[0] in _ALREADY_COMPRESSED:
        return False
    view = memoryview(body).cast("B") if isinstance(body, memoryview) else memoryview(body)
    size = len(view)
    starts = {0, max(0, size // 2 - _WINDOW // 2), max(0, size - _WINDOW)}
    sample = b"".join(bytes(view[s : s + _WINDOW]) for s in sorted(starts))
    packed = zlib.compress(sample, 1)
    return len(packed) <= WORTHWHILE_RATIO * len(sample)


def compress(body: bytes | memoryview, encoding: str) -> bytes:
    return b"".join(compress_chunks(body, encoding))


def compress_chunks(body: bytes | memoryview, encoding: str) -> Iterator[bytes]:
    """The compressed body, produced one megabyte of input at a time (for streaming)."""
    view = memoryview(body).cast("B") if isinstance(body, memoryview) else memoryview(body)
    packer = compressor(encoding)
    for start in range(0, len(view), _CHUNK):
        piece = packer.compress(view[start : start + _CHUNK])
        if piece:
            yield piece
    yield packer.flush()


def compressor(encoding: str) -> Any:
    """A streaming compressor: ``compress(chunk)`` any number of times, then ``flush()``."""
    if encoding == "zstd":
        return _zstd().ZstdCompressor(level=3).compressobj()
    if encoding == "gzip":
        return zlib.compressobj(1, zlib.DEFLATED, 31)
    raise ValueError(f"Unknown content coding {encoding!r}")


def decompress(body: bytes, encoding: str) -> bytes:
    """The inverse of :func:`compress` (for clients and tests)."""
    if encoding == "zstd":
        return bytes(_zstd().ZstdDecompressor().decompressobj().decompress(body))
    if encoding == "gzip":
        return zlib.decompress(body, 31)
    raise ValueError(f"Unknown content coding {encoding!r}")
