"""Media types per structure family: what the root document advertises and how a request's
``format=`` or ``Accept`` picks one."""

from __future__ import annotations

from .errors import NotAcceptableError

OCTET_STREAM = "application/octet-stream"
ARROW_FILE = "application/vnd.apache.arrow.file"
JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/x-parquet"
PNG = "image/png"
TIFF = "image/tiff"
HDF5 = "application/x-hdf5"

_FORMATS: dict[str, dict[str, list[str]]] = {
    "array": {OCTET_STREAM: [], JSON: ["json"], CSV: ["csv"], PNG: ["png"], TIFF: ["tiff", "tif"]},
    "table": {ARROW_FILE: ["arrow", "feather"], PARQUET: ["parquet"], CSV: ["csv"], JSON: ["json"]},
    "container": {HDF5: ["h5", "hdf5"], JSON: ["json"]},
}
_DEFAULTS = {"array": OCTET_STREAM, "table": ARROW_FILE, "container": HDF5}


def formats() -> dict[str, list[str]]:
    return {family: list(types) for family, types in _FORMATS.items()}


def aliases() -> dict[str, dict[str, list[str]]]:
    return {
        family: {media: names for media, names in types.items() if names}
        for family, types in _FORMATS.items()
    }


def resolve_media_type(family: str, format_param: str | None, accept: str | None) -> str:
    """``format=`` (a media type or alias) wins over ``Accept``; ``*/*`` gives the default."""
    supported = _FORMATS[family]
    if format_param:
        for media, names in supported.items():
            if format_param == media or format_param in names:
                return media
        raise NotAcceptableError(_refusal(family, format_param))
    if not accept:
        return _DEFAULTS[family]
    requested = [part.split(";")[0].strip() for part in accept.split(",") if part.strip()]
    for media in requested:
        if media in supported:
            return media
        if media in ("*/*", "application/*") or not media:
            return _DEFAULTS[family]
    raise NotAcceptableError(_refusal(family, accept))


def _refusal(family: str, requested: str) -> str:
    return (
        "None of the media types requested by the client are supported. "
        f"Supported: {', '.join(_FORMATS[family])}. Requested: {requested}."
    )
