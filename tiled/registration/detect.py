"""What format a file or directory holds: by its name first, by its first bytes when the
name does not tell.

Names are matched against compound suffixes longest first (``a.ome.tif`` tries
``.ome.tif`` then ``.tif``): the user's ``--ext`` overrides, then the adapter registry's
table (built-ins and plug-ins' ``extensions``), then the operating system's mimetype
database when it names a format a reader exists for. Content sniffing reads at most
:data:`SNIFF_BYTES` bytes from the start of a file (a zip's directory is read from its
end) and a few ``stat`` calls for a directory; it never parses a whole file.
"""

from __future__ import annotations

import mimetypes as os_mimetypes
import os
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path

from ..adapters.registry import extension_mimetypes, known_mimetypes, normalise_mimetype

__all__ = [
    "HDF5",
    "NETCDF",
    "SHEET",
    "SNIFF_BYTES",
    "ZARR",
    "extension_table",
    "mimetype_by_name",
    "sniff_directory",
    "sniff_file",
    "suffixes",
]

SNIFF_BYTES = 8192
HDF5 = "application/x-hdf5"
NETCDF = "application/x-netcdf"
ZARR = "application/x-zarr"
SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The HDF5 superblock sits at 0 or after a user block of 512, 1024, 2048, ... bytes.
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),  # BigTIFF
    (b"MM\x00+", "image/tiff"),
    (b"PAR1", "application/x-parquet"),
    (b"\x93NUMPY", "application/x-npy"),
    (b"CDF\x01", NETCDF),  # classic
    (b"CDF\x02", NETCDF),  # 64-bit offset
    (b"CDF\x05", NETCDF),  # 64-bit data (CDF-5)
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"ARROW1", "application/vnd.apache.arrow.file"),
)
_ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")


def suffixes(name: str) -> list[str]:
    """Compound suffixes of ``name``, longest first, lower case: ``.a.b``, ``.b``."""
    parts = name.lower().split(".")[1:]
    return ["." + ".".join(parts[i:]) for i in range(len(parts)) if all(parts[i:])]


def extension_table(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Suffix to mimetype: the registry's table (plug-ins included) with ``overrides`` on top."""
    table = extension_mimetypes()
    for suffix, mimetype in (overrides or {}).items():
        table[suffix.lower()] = normalise_mimetype(mimetype)
    return table


def mimetype_by_name(
    name: str, table: Mapping[str, str], known: Collection[str] | None = None
) -> str | None:
    """The mimetype ``name``'s suffixes call for, or None when no reader is known for them.

    ``known`` (the registry's mimetypes) may be passed to save recomputing it per name.
    """
    candidates = suffixes(name)
    for suffix in candidates:
        if suffix in table:
            return table[suffix]
    if candidates:
        guessed, encoding = os_mimetypes.guess_type("x" + candidates[-1], strict=False)
        known = known_mimetypes() if known is None else known
        if guessed and not encoding and normalise_mimetype(guessed) in known:
            return normalise_mimetype(guessed)
    return None


def sniff_file(path: Path | str) -> str | None:
    """The format of a file judged by its first bytes, or None when not recognised.

    Raises OSError (PermissionError, ...) when the file cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
        for magic, mimetype in _MAGIC:
            if head.startswith(magic):
                return mimetype
        if any(head[o : o + 8] == _HDF5_SIGNATURE for o in _HDF5_OFFSETS):
            return HDF5
        if head.startswith(b"PK\x03\x04") and _is_workbook(file):
            return SHEET
    return None


def _is_workbook(file: object) -> bool:
    try:
        with zipfile.ZipFile(file) as archive:  # type: ignore[arg-type]
            archive.getinfo("xl/workbook.xml")
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return False
    return True


def sniff_directory(path: Path | str) -> str | None:
    """``application/x-zarr`` for a directory holding Zarr metadata (v2 or v3), else None."""
    for marker in _ZARR_MARKERS:
        if os.path.isfile(os.path.join(path, marker)):
            return ZARR
    return None
