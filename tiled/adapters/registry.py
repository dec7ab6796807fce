"""Which adapter reads which mimetype, and header-only inspection for registration.

A new built-in format is one module plus one line in ``_BUILTIN``. Third parties add
formats without touching tiled, in either of two ways (see ``docs/adapters.md``):

* an entry point in the group ``tiled.adapters`` whose name is the mimetype and whose
  value is ``package.module:Class`` (loaded on first use; a broken plug-in warns and is
  skipped, it never stops the server);
* :func:`register_adapter_spec` with ``"mimetype=package.module:Class"`` (what the
  command line's ``--adapter`` option calls), or :func:`register_adapter` with an object.

The object registered is either a class with a ``from_source(source)`` classmethod or a
plain callable ``opener(source)`` (the earlier form ``factory(paths, structure,
parameters, metadata, specs)`` still works); it may also offer ``incomplete_reason(paths)``,
a cheap check used by the watcher before it inspects a file that may still be written.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadRequestError, UnsupportedMimetypeError
from ..structures.core import Spec, StructureFamily
from .protocols import Adapter, Opener, ResolvedSource
from .sequences import natural_key, natural_sorted

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterPluginWarning",
    "Inspection",
    "check_complete",
    "extension_mimetypes",
    "inspect",
    "is_known_mimetype",
    "known_mimetypes",
    "load_entry_points",
    "natural_key",
    "natural_sorted",
    "normalise_mimetype",
    "open_adapter",
    "register_adapter",
    "register_adapter_spec",
    "sequence_mimetype",
]

ENTRY_POINT_GROUP = "tiled.adapters"
_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_BUILTIN: dict[str, str] = {
    "image/tiff": "tiled.adapters.tiff:TIFFAdapter",
    "multipart/related;type=image/tiff": "tiled.adapters.tiff:TIFFSequenceAdapter",
    "image/jpeg": "tiled.adapters.images:ImageAdapter",
    "multipart/related;type=image/jpeg": "tiled.adapters.images:ImageSequenceAdapter",
    "image/png": "tiled.adapters.images:ImageAdapter",
    "multipart/related;type=image/png": "tiled.adapters.images:ImageSequenceAdapter",
    "application/x-npy": "tiled.adapters.npy:NPYAdapter",
    "multipart/related;type=application/x-npy": "tiled.adapters.npy:NPYSequenceAdapter",
    "application/x-hdf5": "tiled.adapters.hdf5:HDF5Adapter",
    "application/x-netcdf": "tiled.adapters.netcdf:NetCDFAdapter",
    "application/x-zarr": "tiled.adapters.zarr:ZarrAdapter",
    "text/csv": "tiled.adapters.csv:CSVAdapter",
    "text/csv;header=present": "tiled.adapters.csv:CSVAdapter",
    "text/csv;header=absent": "tiled.adapters.csv:CSVAdapter",
    "multipart/related;type=text/csv": "tiled.adapters.csv:CSVAdapter",
    "application/x-parquet": "tiled.adapters.parquet:ParquetAdapter",
    "application/vnd.apache.arrow.file": "tiled.adapters.arrow:ArrowAdapter",
    _SHEET: "tiled.adapters.excel:ExcelAdapter",
}

# Extensions of the formats above that the OS mimetype table may not know, for the indexer.
_EXTENSIONS: dict[str, str] = {
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".npy": "application/x-npy",
    ".h5": "application/x-hdf5",
    ".hdf5": "application/x-hdf5",
    ".hdf": "application/x-hdf5",
    ".nxs": "application/x-hdf5",
    ".nc": "application/x-netcdf",
    ".zarr": "application/x-zarr",
    ".csv": "text/csv",
    ".parquet": "application/x-parquet",
    ".arrow": "application/vnd.apache.arrow.file",
    ".feather": "application/vnd.apache.arrow.file",
    ".xlsx": _SHEET,
}

_registry: dict[str, Any] = dict(_BUILTIN)  # mimetype -> object, or "module:attr" not yet loaded
_plugins_loaded = False


class AdapterPluginWarning(UserWarning):
    """A third-party adapter could not be loaded; its formats stay unavailable."""


def normalise_mimetype(mimetype: str) -> str:
    """Lower case, no spaces around ``;`` (``text/csv; header=absent`` is a common spelling)."""
    return ";".join(part.strip() for part in str(mimetype).split(";")).lower()


def _load_object(spec: str) -> Any:
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise BadRequestError(
            f"{spec!r} is not an importable object; write it as 'package.module:Class'"
        )
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def _resolved(mimetype: str) -> Any:
    entry = _registry[mimetype]
    if isinstance(entry, str):
        entry = _registry[mimetype] = _load_object(entry)
    return entry


def _positional_parameters(func: Any) -> int:
    import inspect as signatures

    try:
        parameters = signatures.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (signatures.Parameter.POSITIONAL_ONLY, signatures.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds)


def _legacy_opener(factory: Callable[..., Any]) -> Opener:
    """Adapt the earlier ``factory(paths, structure, parameters, metadata, specs)`` form."""

    def opener(source: ResolvedSource) -> Any:
        return factory(
            list(source.paths), source.structure, source.parameters, source.metadata, source.specs
        )

    return opener


def register_adapter(mimetype: str, adapter: Any) -> None:
    """Teach the registry a format: a class with ``from_source``, a callable, or a spec string.

    A later registration of the same mimetype replaces the earlier one (so a site can
    override a built-in reader).
    """
    if not isinstance(adapter, str) and not callable(getattr(adapter, "from_source", adapter)):
        raise BadRequestError(
            f"The adapter for {mimetype!r} must be a class with from_source(source), a "
            f"callable opener(source), or 'package.module:Class'; got {adapter!r}"
        )
    _registry[normalise_mimetype(mimetype)] = adapter


def register_adapter_spec(option: str) -> list[str]:
    """Register ``"mimetype=package.module:Class"`` (or ``package.module:Class`` whose
    class lists its ``mimetypes``); imported now so that a typo fails at start-up.

    Returns the mimetypes registered. Raises BadRequestError naming what is wrong.
    """
    mimetype, sep, spec = option.rpartition("=")
    try:
        adapter = _load_object(spec.strip())
    except (ImportError, AttributeError) as err:
        raise BadRequestError(f"Cannot load the adapter {spec.strip()!r}: {err}") from err
    mimetypes = [mimetype.strip()] if sep else list(getattr(adapter, "mimetypes", ()))
    if not mimetypes:
        raise BadRequestError(
            f"Say which mimetype {spec.strip()!r} reads: 'mimetype=package.module:Class', "
            "or give the class a 'mimetypes' attribute"
        )
    for name in mimetypes:
        register_adapter(name, adapter)
    return [normalise_mimetype(m) for m in mimetypes]


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Register every adapter advertised in the entry point ``group``; returns mimetypes.

    A plug-in that fails to import warns (AdapterPluginWarning) and is skipped.
    """
    from importlib.metadata import entry_points

    global _plugins_loaded
    if group == ENTRY_POINT_GROUP:
        _plugins_loaded = True
    loaded = []
    for entry_point in entry_points(group=group):
        try:
            adapter = entry_point.load()
            register_adapter(entry_point.name, adapter)
        except Exception as err:  # any failure of a plug-in must not stop the server
            warnings.warn(
                f"The adapter plug-in {entry_point.name!r} = {entry_point.value!r} could not "
                f"be loaded and is skipped: {type(err).__name__}: {err}",
                AdapterPluginWarning,
                stacklevel=2,
            )
            continue
        loaded.append(normalise_mimetype(entry_point.name))
    return loaded


def _ensure_plugins() -> None:
    if not _plugins_loaded:
        load_entry_points()


def known_mimetypes() -> list[str]:
    _ensure_plugins()
    return sorted(_registry)


def is_known_mimetype(mimetype: str | None) -> bool:
    """Whether a reader is registered for exactly ``mimetype`` (cheaper than the list)."""
    _ensure_plugins()
    return mimetype in _registry


def extension_mimetypes() -> dict[str, str]:
    """File extension (with dot, lower case) to mimetype, including plug-ins' ``extensions``.

    The built-in table wins, then the first registration: a reader listed under several
    mimetypes (JPEG and PNG) must not send one format's extensions to the other.
    """
    _ensure_plugins()
    table = dict(_EXTENSIONS)
    for mimetype, entry in _registry.items():
        for extension in getattr(entry, "extensions", ()) if not isinstance(entry, str) else ():
            table.setdefault(str(extension).lower(), mimetype)
    return table


def sequence_mimetype(mimetype: str) -> str:
    """The mimetype of a numbered sequence of files of ``mimetype`` (one frame per file)."""
    return f"multipart/related;type={normalise_mimetype(mimetype)}"


def _opener(mimetype: str) -> tuple[Opener, Any]:
    _ensure_plugins()
    key = normalise_mimetype(mimetype)
    if key not in _registry:
        raise UnsupportedMimetypeError(
            f"The given data source mimetype, {mimetype}, is not one that the server knows "
            f"how to read. Known: {', '.join(known_mimetypes())}"
        )
    entry = _resolved(key)
    opener = getattr(entry, "from_source", None)
    if opener is None:
        opener = entry if _positional_parameters(entry) < 2 else _legacy_opener(entry)
    return opener, entry


def open_adapter(
    mimetype: str,
    paths: Sequence[Path],
    *,
    structure: Any = None,
    parameters: Mapping[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    specs: list[Spec] | None = None,
    readable: Sequence[Path] = (),
) -> Adapter:
    """Open the adapter for a data source whose asset paths are resolved and checked."""
    opener, _ = _opener(mimetype)
    if not paths:
        raise BadRequestError("A data source needs at least one file")
    source = ResolvedSource(
        mimetype=normalise_mimetype(mimetype),
        paths=paths if _lazy(paths) else tuple(_as_path(p) for p in paths),
        structure=structure,
        parameters=dict(parameters or {}),
        metadata=metadata,
        specs=specs,
        readable=tuple(Path(p) for p in readable),
    )
    return opener(source)


def _as_path(path: Path | str) -> Path:
    """``path`` as a Path; one already (the indexer's) is kept: Path(Path) parses again."""
    return path if isinstance(path, Path) else Path(path)


def _lazy(paths: Sequence[Path]) -> bool:
    """Whether ``paths`` is a sequence that checks each file on first use (the server's),
    which must stay lazy: reading one frame then touches one file."""
    return not isinstance(paths, (list, tuple))


@dataclass(frozen=True)
class Inspection:
    """What reading the headers of a file (or sequence) tells: enough to register it."""

    structure_family: StructureFamily
    structure: Any
    metadata: dict[str, Any]
    specs: list[Spec]


def inspect(
    mimetype: str,
    paths: Sequence[Path],
    parameters: Mapping[str, Any] | None = None,
    *,
    readable: Sequence[Path] = (),
) -> Inspection:
    """Structure, metadata and specs from headers only (containers: their top-level keys).

    Safe to call in a worker process: it imports only the format's own module.
    """
    adapter = open_adapter(mimetype, paths, parameters=parameters, readable=readable)
    return Inspection(
        StructureFamily(adapter.structure_family),
        adapter.structure(),
        adapter.metadata(),
        adapter.specs(),
    )


def check_complete(mimetype: str, paths: Sequence[Path]) -> str | None:
    """Why the file(s) look incomplete (still being written), or None when they look whole.

    Formats without a cheap check answer None; opening will tell.
    """
    _, entry = _opener(mimetype)
    check: Callable[[Sequence[Path]], str | None] | None = getattr(entry, "incomplete_reason", None)
    return check([Path(p) for p in paths]) if check is not None else None
