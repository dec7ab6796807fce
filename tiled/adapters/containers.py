"""What every container inside a file (an HDF5 or Zarr group, a NetCDF file or group, a
workbook) shares: its keys, metadata and specs, read once when it is opened."""

from __future__ import annotations

from typing import Any

from ..errors import NotFoundError
from ..structures.container import FileContainerStructure
from ..structures.core import Spec, StructureFamily


class FileContainerBase:
    """Formats set ``_keys`` (in the order to list) and ``_metadata`` when they open the
    container, and say how to open one child in ``_child``."""

    structure_family = StructureFamily.container
    _keys: list[str]
    _metadata: dict[str, Any]

    def __init__(self, specs: list[Spec] | None = None) -> None:
        self._specs = list(specs or [])

    def structure(self) -> FileContainerStructure:
        return FileContainerStructure(tuple(self._keys))

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def specs(self) -> list[Spec]:
        return self._specs

    def keys(self) -> list[str]:
        return list(self._keys)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise NotFoundError(f"No such entry: {key!r}")
        return self._child(key)

    def _child(self, key: str) -> Any:
        raise NotImplementedError
