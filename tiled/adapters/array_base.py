"""Shared array behaviour: selections checked once, blocks as selections of the whole
array, and every result conformed to the registered structure.

Formats implement ``_read(selection)`` for an already normalised selection and read only
the bytes it touches. The base class checks that what came back has the registered shape
and dtype (so a file replaced or truncated since registration is an error, never wrong
bytes) and converts byte order to the declared one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import DataGoneError, InvalidSliceError
from ..structures.array import ArrayStructure
from ..structures.core import Spec, StructureFamily
from .protocols import Selection
from .selection import Normalised, as_slices, normalise, result_shape, within_block

if TYPE_CHECKING:
    import numpy


class ArrayAdapterBase:
    """Subclasses set ``self._structure`` (or override ``structure``) and implement ``_read``."""

    structure_family = StructureFamily.array

    def __init__(
        self,
        structure: ArrayStructure | None = None,
        metadata: dict[str, Any] | None = None,
        specs: list[Spec] | None = None,
    ) -> None:
        self._structure = structure
        self._metadata = dict(metadata) if metadata is not None else None
        self._specs = list(specs or [])

    def metadata(self) -> dict[str, Any]:
        """The registered metadata or, when none was given, what the file says (read once)."""
        if self._metadata is None:
            self._metadata = self._read_metadata()
        return self._metadata

    def _read_metadata(self) -> dict[str, Any]:
        """Formats whose files carry metadata (tags, attributes) override this."""
        return {}

    def specs(self) -> list[Spec]:
        return self._specs

    def structure(self) -> ArrayStructure:
        if self._structure is None:
            self._structure = self._inspect()
        return self._structure

    def known_structure(self) -> ArrayStructure | None:
        """The structure if it is known without touching the file (registered or already
        inspected), else None: the server then asks ``structure()`` in a worker thread."""
        return self._structure

    def _inspect(self) -> ArrayStructure:
        raise NotImplementedError(f"{type(self).__name__} must describe its structure")

    def _read(self, selection: Normalised) -> numpy.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _read")

    def read(self, selection: Selection = ()) -> numpy.ndarray:
        """``array[selection]`` with numpy semantics, reading only what it covers."""
        structure = self.structure()
        normalised = normalise(selection, structure.shape)
        return self._conform(self._read(normalised), result_shape(normalised))

    def read_block(self, block: tuple[int, ...], selection: Selection = ()) -> numpy.ndarray:
        """Block ``block`` of the registered chunk grid, optionally sliced inside it."""
        structure = self.structure()
        try:
            block_shape = structure.block_shape(block)
        except IndexError as err:
            raise InvalidSliceError(f"Block index out of range: {err}") from err
        offset = structure.block_offset(block)
        normalised = within_block(offset, block_shape, selection)
        if type(self)._read is ArrayAdapterBase._read:  # a subclass that overrides read()
            return self.read(as_slices(normalised))
        return self._conform(self._read(normalised), result_shape(normalised))

    def _conform(self, data: Any, shape: tuple[int, ...]) -> numpy.ndarray:
        import numpy

        array = numpy.asarray(data)
        wanted = self.structure().data_type.to_numpy_dtype()
        if array.shape != shape:
            raise DataGoneError(
                f"the file gave shape {list(array.shape)} where the registered structure "
                f"implies {list(shape)}; it changed after registration"
            )
        if array.dtype != wanted:
            array = conform_dtype(array, wanted)
        return array


def changed_shape(actual: tuple[int, ...], registered: tuple[int, ...]) -> DataGoneError:
    return DataGoneError(
        f"the file now holds shape {list(actual)}, not the registered {list(registered)}; "
        "it changed after registration"
    )


def conform_dtype(array: numpy.ndarray, wanted: numpy.dtype[Any]) -> numpy.ndarray:
    """Same values in the declared dtype: byte order, string width or struct layout."""
    import numpy

    have = array.dtype
    same_kind = have.kind == wanted.kind or (have.kind in "OT" and wanted.kind in "US")
    if have.kind == "V" and wanted.kind == "V":
        same_kind = have.names == wanted.names
    if not same_kind or (wanted.kind not in "USV" and have.itemsize != wanted.itemsize):
        raise DataGoneError(
            f"the file holds data of type {have}, not the registered {wanted}; "
            "it changed after registration"
        )
    if have.kind in "OT":
        return _strings(array, wanted)
    if wanted.kind in "US" and have.itemsize > wanted.itemsize:
        converted = array.astype(wanted)
        if not numpy.array_equal(converted, array):
            raise DataGoneError(
                f"the file holds strings longer than the registered {wanted}; "
                "it changed after registration"
            )
        return converted
    return array.astype(wanted)


def _strings(array: numpy.ndarray, wanted: numpy.dtype[Any]) -> numpy.ndarray:
    """Variable-length strings (object or StringDType) as fixed-width ones."""
    import numpy

    values = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel()]
    if wanted.kind == "S":
        encoded = [v.encode("utf-8") for v in values]
        longest = max((len(v) for v in encoded), default=0)
        data: list[Any] = encoded
    else:
        longest = max((len(v) for v in values), default=0)
        data = values
    if longest > wanted.itemsize // (4 if wanted.kind == "U" else 1):
        raise DataGoneError(
            f"the file holds strings longer than the registered {wanted}; "
            "it changed after registration"
        )
    return numpy.array(data, dtype=wanted).reshape(array.shape)


def string_dtype_for(values: numpy.ndarray) -> numpy.dtype[Any]:
    """The fixed-width unicode dtype that holds every string in ``values`` (at least 1)."""
    import numpy

    flat = values.ravel()
    longest = max(
        (len(v.decode("utf-8") if isinstance(v, bytes) else str(v)) for v in flat), default=1
    )
    return numpy.dtype(f"<U{max(longest, 1)}")
