"""Array nodes: whole reads, numpy-style slicing and block reads, decoded with the
structure's dtype (byte order and record fields included)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from ..media_types import OCTET_STREAM
from ..structures.array import ArrayStructure
from . import slicing
from .base import BaseClient
from .export import export_to

if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["ArrayClient", "DaskArrayClient"]


class ArrayClient(BaseClient):
    """An array on the server; ``a[1, 100:110]`` fetches only that region.

    Reads larger than the context's ``max_bytes_per_request`` are split into several
    requests whose bytes are written straight into one output array.
    """

    def structure(self) -> ArrayStructure:
        return ArrayStructure.from_json(self._item["attributes"]["structure"])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.structure().shape

    @property
    def dtype(self) -> numpy.dtype[Any]:
        return self.structure().data_type.to_numpy_dtype()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        return self.structure().chunks

    @property
    def dims(self) -> tuple[str, ...] | None:
        return self.structure().dims

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        structure = self.structure()
        nominal = tuple(dim[0] if dim else 0 for dim in structure.chunks)
        return (
            f"<{type(self).__name__} shape={structure.shape} chunks={nominal} dtype={self.dtype}>"
        )

    # -- reading -------------------------------------------------------------------------

    def read(self, slice: Any = None) -> numpy.ndarray:
        """The array, or the region ``slice`` selects (anything ``__getitem__`` accepts)."""
        if slice is None:
            return self._read(slicing.normalize((), self.shape), send_slice=False)
        return self._read(slicing.normalize(slice, self.shape))

    def __getitem__(self, key: Any) -> Any:
        result = self._read(slicing.normalize(key, self.shape))
        if result.ndim == 0 and not _has_ellipsis(key):
            return result[()]  # numpy returns a scalar for a full integer index
        return result

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> numpy.ndarray:
        data = self.read()
        return data.astype(dtype, copy=False) if dtype is not None else data

    def read_block(self, block: Sequence[int], slice: Any = None) -> numpy.ndarray:
        """The block at grid position ``block`` (see ``chunks``), optionally sliced inside."""
        structure = self.structure()
        block = _block_index(block, structure)
        block_shape = structure.block_shape(block)
        selection = slicing.normalize(() if slice is None else slice, block_shape)
        params: dict[str, str] = {"block": ",".join(map(str, block))}
        if slice is not None:
            params["slice"] = slicing.encode(selection.items)
        params["expected_shape"] = slicing.expected_shape(selection.shape)
        out = numpy.empty(selection.shape, self.dtype)
        if out.size:
            url = self._item["links"]["block"].split("?", 1)[0]
            self.context.read_into(url, _bytes_of(out), params=params, accept=OCTET_STREAM)
        return out.reshape(selection.final_shape())

    def _read(self, selection: slicing.Selection, send_slice: bool = True) -> numpy.ndarray:
        dtype = self.dtype
        out = numpy.empty(selection.shape, dtype)
        if out.size:
            flat = _bytes_of(out)
            url = self._item["links"]["full"]
            limit = self.context.max_bytes_per_request
            for piece in slicing.pieces(selection.items, dtype.itemsize, limit):
                params = {"expected_shape": slicing.expected_shape(piece.shape)}
                encoded = slicing.encode(piece.items)
                if encoded and (send_slice or piece.items != selection.items):
                    params["slice"] = encoded
                start = piece.offset * dtype.itemsize
                end = start + math.prod(piece.shape) * dtype.itemsize
                self.context.read_into(url, flat[start:end], params=params, accept=OCTET_STREAM)
        return out.reshape(selection.final_shape())

    def export(
        self,
        filename_or_buffer: str | BinaryIO | Any,
        *,
        format: str | None = None,
        slice: Any = None,
    ) -> None:
        """Write the array (or a slice) in a format the server offers (see ``formats``).

        ``format`` is a media type or alias (``"csv"``, ``"json"``, ``"tiff"``); when
        omitted it is taken from the file name's extension.
        """
        params = {}
        if slice is not None:
            params["slice"] = slicing.encode(slicing.normalize(slice, self.shape).items)
        export_to(self, self._item["links"]["full"], filename_or_buffer, format, params)


def _has_ellipsis(key: Any) -> bool:
    return key is Ellipsis or (isinstance(key, tuple) and any(k is Ellipsis for k in key))


def _bytes_of(array: numpy.ndarray) -> memoryview:
    """A writable byte view of a C-contiguous array, whatever its dtype."""
    return array.reshape(-1).view(numpy.uint8).data


def _block_index(block: Sequence[int] | int, structure: ArrayStructure) -> tuple[int, ...]:
    if isinstance(block, int):
        block = (block,)
    block = tuple(block)
    if len(block) != structure.ndim:
        raise IndexError(
            f"block needs one index per dimension ({structure.ndim}), got {len(block)}; "
            f"the block grid is {tuple(len(c) for c in structure.chunks)}"
        )
    normalised = []
    for axis, (index, dim) in enumerate(zip(block, structure.chunks, strict=True)):
        position = index + len(dim) if index < 0 else index
        if not 0 <= position < len(dim):
            raise IndexError(
                f"block index {index} is outside the {len(dim)} blocks along axis {axis}"
            )
        normalised.append(position)
    return tuple(normalised)


class DaskArrayClient(ArrayClient):
    """Like :class:`ArrayClient`, but ``read()`` returns a lazy dask array of the blocks.

    Needs the optional dependency dask (``pip install dask``).
    """

    def read(self, slice: Any = None) -> Any:
        from ._dask import dask_array

        array = dask_array(self)
        return array if slice is None else array[slice]
