"""Array bodies: raw C-order bytes, JSON, CSV, and PNG/TIFF previews of 2-D slices."""

from __future__ import annotations

import io
from typing import Any

import numpy
import orjson

from ..errors import BadRequestError
from ..media_types import CSV, JSON, OCTET_STREAM, PNG, TIFF


def encode_array(array: numpy.ndarray, media_type: str) -> bytes | memoryview:
    if media_type == OCTET_STREAM:
        contiguous = numpy.ascontiguousarray(array)
        return memoryview(contiguous).cast("B") if contiguous.ndim else contiguous.tobytes()
    if media_type == JSON:
        return orjson.dumps(_jsonable(array))
    if media_type == CSV:
        return _csv(array)
    if media_type in (PNG, TIFF):
        return _image(array, media_type)
    raise BadRequestError(f"Arrays cannot be encoded as {media_type}")


def decode_array(body: bytes, dtype: numpy.dtype[Any], shape: tuple[int, ...]) -> numpy.ndarray:
    return numpy.frombuffer(body, dtype=dtype).reshape(shape)


def _jsonable(array: numpy.ndarray) -> Any:
    if array.dtype.kind in "SV":
        return [_jsonable(a) for a in array] if array.ndim else str(array.item())
    if array.dtype.kind in "mM":
        return array.astype(str).tolist()
    if array.dtype.kind == "c":
        return numpy.stack([array.real, array.imag], axis=-1).tolist()
    return array.tolist()


def _csv(array: numpy.ndarray) -> bytes:
    if array.ndim > 2:
        raise BadRequestError("Only 1-D and 2-D arrays can be exported as CSV; slice first")
    buffer = io.StringIO()
    numpy.savetxt(
        buffer,
        numpy.atleast_2d(array) if array.ndim else array.reshape(1, 1),
        delimiter=",",
        fmt="%s",
    )
    return buffer.getvalue().encode()


def _image(array: numpy.ndarray, media_type: str) -> bytes:
    if array.ndim != 2 and not (array.ndim == 3 and array.shape[-1] in (3, 4)):
        raise BadRequestError("Images need a 2-D slice (or RGB/RGBA); slice the array first")
    buffer = io.BytesIO()
    if media_type == TIFF:
        import tifffile

        tifffile.imwrite(buffer, array)
        return buffer.getvalue()
    from PIL import Image

    data = array
    if data.dtype != numpy.uint8:
        finite = data[numpy.isfinite(data)] if data.dtype.kind in "fc" else data
        low, high = (finite.min(), finite.max()) if finite.size else (0, 1)
        scale = (high - low) or 1
        data = ((data.astype("float64") - low) / scale * 255).clip(0, 255).astype("uint8")
    Image.fromarray(data).save(buffer, format="PNG")
    return buffer.getvalue()
