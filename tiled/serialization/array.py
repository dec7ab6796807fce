"""Array bodies: raw C-order bytes, JSON, CSV, and PNG/TIFF previews of 2-D slices.

``application/octet-stream`` is the array's memory in C order and in the byte order of
its dtype (which the server declares in the structure), sent without a copy when the
array is already contiguous.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import BadRequestError
from ..media_types import CSV, JSON, OCTET_STREAM, PNG, TIFF

if TYPE_CHECKING:
    import numpy

# Rough characters per element of the text encodings, to refuse huge text bodies early.
_TEXT_BYTES_PER_ELEMENT = 24


def encode_array(array: numpy.ndarray, media_type: str) -> bytes | memoryview:
    if media_type == OCTET_STREAM:
        return array_bytes(array)
    if media_type == JSON:
        return orjson.dumps(_jsonable(array), option=orjson.OPT_SERIALIZE_NUMPY)
    if media_type == CSV:
        return _csv(array)
    if media_type in (PNG, TIFF):
        return _image(array, media_type)
    raise BadRequestError(f"Arrays cannot be encoded as {media_type}")


def array_bytes(array: numpy.ndarray) -> memoryview:
    """The C-order bytes of ``array`` as a flat byte view (no copy when contiguous)."""
    import numpy

    contiguous = numpy.ascontiguousarray(array)
    flat: Any = contiguous.reshape(-1).view(numpy.uint8)
    return memoryview(flat)


def encoded_size(shape: tuple[int, ...], itemsize: int, media_type: str) -> int:
    """An upper estimate of the body size, for the response-size limit."""
    count = math.prod(shape)
    if media_type in (JSON, CSV):
        return count * max(itemsize, _TEXT_BYTES_PER_ELEMENT)
    return count * itemsize


def decode_array(body: bytes, dtype: numpy.dtype[Any], shape: tuple[int, ...]) -> numpy.ndarray:
    import numpy

    return numpy.frombuffer(body, dtype=dtype).reshape(shape)


def _jsonable(array: numpy.ndarray) -> Any:
    import numpy

    kind = array.dtype.kind
    if array.dtype.fields is not None:
        return _records(array)
    if kind == "S":
        return numpy.char.decode(array, "utf-8", errors="replace").tolist()
    if kind in "mM":
        return array.astype(str).tolist()
    if kind == "c":
        return numpy.stack([array.real, array.imag], axis=-1).tolist()
    if kind == "V":
        return [bytes(v).hex() for v in array.ravel()] if array.ndim else bytes(array).hex()
    return array.tolist()


def _records(array: numpy.ndarray) -> Any:
    """Structured values as objects ``{field: value}`` (nested arrays as lists)."""
    import numpy

    if array.ndim:
        return [_records(item) for item in array]
    names = array.dtype.names or ()
    return {name: _jsonable(numpy.asarray(array[name])) for name in names}


def _csv(array: numpy.ndarray) -> bytes:
    import numpy

    if array.ndim > 2:
        raise BadRequestError(
            f"Only 1-D and 2-D arrays can be exported as CSV; this selection is "
            f"{array.ndim}-D. Slice it first."
        )
    if array.dtype.fields is not None:
        raise BadRequestError("Arrays of records cannot be exported as CSV; use JSON")
    buffer = io.StringIO()
    rows = array.reshape(1, 1) if array.ndim == 0 else array
    if rows.dtype.kind == "S":
        rows = numpy.char.decode(rows, "utf-8", errors="replace")
    numpy.savetxt(buffer, rows if rows.ndim == 2 else rows[:, None], delimiter=",", fmt="%s")
    return buffer.getvalue().encode()


def _image(array: numpy.ndarray, media_type: str) -> bytes:
    import numpy

    if array.ndim != 2 and not (array.ndim == 3 and array.shape[-1] in (3, 4)):
        raise BadRequestError(
            f"An image needs a 2-D selection (or RGB/RGBA); this one has shape "
            f"{list(array.shape)}. Slice the array first."
        )
    if array.dtype.kind not in "biuf":
        raise BadRequestError(f"Arrays of {array.dtype} cannot be shown as an image")
    buffer = io.BytesIO()
    if media_type == TIFF:
        import tifffile

        tifffile.imwrite(buffer, numpy.ascontiguousarray(array))
        return buffer.getvalue()
    from PIL import Image

    Image.fromarray(_as_uint8(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def _as_uint8(array: numpy.ndarray) -> numpy.ndarray:
    """Scale to 0..255 between the finite minimum and maximum (a preview, not the data)."""
    import numpy

    if array.dtype == numpy.uint8:
        return numpy.ascontiguousarray(array)
    data = array.astype("float64")
    finite = data[numpy.isfinite(data)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    scaled = (numpy.nan_to_num(data, nan=low) - low) / ((high - low) or 1.0) * 255
    result: numpy.ndarray = scaled.clip(0, 255).astype("uint8")
    return result
