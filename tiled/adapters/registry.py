"""Which adapter reads which mimetype, and header-only inspection for registration.

A new format is one module plus one entry in ``_BUILTIN``; third parties register with
:func:`register_adapter`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadRequestError, UnsupportedMimetypeError
from ..structures.core import Spec, StructureFamily

AdapterFactory = Callable[..., Any]


def _tiff(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
    from .tiff import TIFFAdapter

    return TIFFAdapter(_one(paths), structure, metadata, specs)


def _tiff_sequence(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
    from .tiff import TIFFSequenceAdapter

    return TIFFSequenceAdapter(paths, structure, metadata, specs)


def _npy(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
    from .npy import NPYAdapter

    return NPYAdapter(_one(paths), structure, metadata, specs)


def _npy_sequence(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
    from .npy import NPYSequenceAdapter

    return NPYSequenceAdapter(paths, structure, metadata, specs)


def _csv(header: bool | None) -> AdapterFactory:
    def factory(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
        from .tables import CSVAdapter

        return CSVAdapter(paths, structure, metadata, specs, header=header)

    return factory


def _parquet(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
    from .tables import ParquetAdapter

    return ParquetAdapter(paths, structure, metadata, specs)


def _hdf5(paths, structure, parameters, metadata, specs):  # type: ignore[no-untyped-def]
    from .hdf5 import open_hdf5

    return open_hdf5(_one(paths), dict(parameters), metadata, specs, structure)


_BUILTIN: dict[str, AdapterFactory] = {
    "image/tiff": _tiff,
    "multipart/related;type=image/tiff": _tiff_sequence,
    "application/x-npy": _npy,
    "multipart/related;type=application/x-npy": _npy_sequence,
    "text/csv": _csv(None),
    "text/csv;header=present": _csv(True),
    "text/csv;header=absent": _csv(False),
    "application/x-parquet": _parquet,
    "application/x-hdf5": _hdf5,
}
_REGISTRY: dict[str, AdapterFactory] = dict(_BUILTIN)


def _one(paths: Sequence[Path]) -> Path:
    if len(paths) != 1:
        raise BadRequestError(f"This format reads exactly one file, got {len(paths)}")
    return paths[0]


def normalise_mimetype(mimetype: str) -> str:
    return ";".join(part.strip() for part in mimetype.split(";")).lower()


def register_adapter(mimetype: str, factory: AdapterFactory) -> None:
    """Teach the server a format: ``factory(paths, structure, parameters, metadata, specs)``."""
    _REGISTRY[normalise_mimetype(mimetype)] = factory


def known_mimetypes() -> list[str]:
    return sorted(_REGISTRY)


def open_adapter(
    mimetype: str,
    paths: Sequence[Path],
    *,
    structure: Any = None,
    parameters: Mapping[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    specs: list[Spec] | None = None,
) -> Any:
    factory = _REGISTRY.get(normalise_mimetype(mimetype))
    if factory is None:
        raise UnsupportedMimetypeError(
            f"The given data source mimetype, {mimetype}, is not one that the server knows "
            f"how to read. Known: {', '.join(known_mimetypes())}"
        )
    if not paths:
        raise BadRequestError("A data source needs at least one file")
    return factory(list(paths), structure, dict(parameters or {}), metadata, specs)


@dataclass(frozen=True)
class Inspection:
    """What reading the headers of a file (or sequence) tells: enough to register it."""

    structure_family: StructureFamily
    structure: Any
    metadata: dict[str, Any]
    specs: list[Spec]


def inspect(
    mimetype: str, paths: Sequence[Path], parameters: Mapping[str, Any] | None = None
) -> Inspection:
    adapter = open_adapter(mimetype, paths, parameters=parameters)
    return Inspection(
        StructureFamily(adapter.structure_family),
        adapter.structure(),
        adapter.metadata(),
        adapter.specs(),
    )
