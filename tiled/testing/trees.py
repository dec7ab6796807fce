"""Reproducible directory trees of real files, for indexing tests and benchmarks.

:func:`write_every_format` writes one small file of each supported format (plus image
and NPY sequences, a Zarr store, hidden and unrecognised files), each with the format's
own library. :func:`write_mixed_tree` writes N small files of the common formats spread
over nested directories, deterministic for a given ``seed`` (same names, same bytes).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy

# Weight of each kind per draw; a sequence draw writes 10 frames, so sequences hold
# about a tenth of the files.
MIX = (
    ("csv", 0.338),
    ("npy", 0.20),
    ("tiff", 0.20),
    ("png", 0.05),
    ("h5", 0.10),
    ("parquet", 0.05),
    ("tiff-sequence", 0.012),
    ("unrecognised", 0.05),
)
FILES_PER_DIRECTORY = 100
FRAMES_PER_SEQUENCE = 10


def write_csv(path: Path, seed: int) -> None:
    path.write_text(f"x,y\n{seed},{seed * 2}\n{seed + 1},{seed * 3}\n")


def write_npy(path: Path, seed: int) -> None:
    numpy.save(path, numpy.arange(12, dtype="int32").reshape(3, 4) + seed)


def write_tiff(path: Path, seed: int) -> None:
    import tifffile

    tifffile.imwrite(path, (numpy.arange(64, dtype="uint16").reshape(8, 8) + seed))


def write_png(path: Path, seed: int) -> None:
    from PIL import Image

    Image.fromarray(numpy.arange(64, dtype="uint8").reshape(8, 8) + seed % 100).save(path)


def write_jpeg(path: Path, seed: int) -> None:
    from PIL import Image

    Image.fromarray(numpy.full((8, 8), seed % 200, dtype="uint8")).save(path, format="JPEG")


def write_h5(path: Path, seed: int) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["seed"] = seed
        f["data"] = numpy.arange(10, dtype="float64") + seed
        f.create_group("group")["inner"] = numpy.ones((2, 3))


def write_parquet(path: Path, seed: int) -> None:
    import pandas

    pandas.DataFrame({"a": [seed, seed + 1], "b": [0.5, 1.5]}).to_parquet(path)


def write_arrow(path: Path, seed: int) -> None:
    import pyarrow
    import pyarrow.feather

    table = pyarrow.table({"a": [seed, seed + 1]})
    pyarrow.feather.write_feather(table, str(path))


def write_xlsx(path: Path, seed: int) -> None:
    import pandas

    pandas.DataFrame({"a": [seed, 2]}).to_excel(path, index=False)


def write_netcdf(path: Path, seed: int) -> None:
    import h5netcdf

    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"x": 4}
        v = f.create_variable("temperature", ("x",), "f8")
        v[:] = numpy.arange(4) + seed


def write_zarr(path: Path, seed: int) -> None:
    import zarr

    group = zarr.open_group(str(path), mode="w")
    group.create_array("values", shape=(4,), dtype="int64")[:] = numpy.arange(4) + seed


def write_every_format(root: Path) -> dict[str, str]:
    """One node of each format under ``root``; returns key -> structure family expected."""
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "table.csv", 1)
    write_npy(root / "array.npy", 1)
    write_tiff(root / "image.tif", 1)
    write_png(root / "picture.png", 1)
    write_jpeg(root / "photo.jpg", 1)
    write_h5(root / "measurement.h5", 1)
    write_netcdf(root / "climate.nc", 1)
    write_zarr(root / "store.zarr", 1)
    write_parquet(root / "frame.parquet", 1)
    write_arrow(root / "columns.arrow", 1)
    write_xlsx(root / "sheet.xlsx", 1)
    frames = root / "frames"
    frames.mkdir()
    for i in (1, 2, 10):  # natural order: 1, 2, 10
        write_tiff(frames / f"scan_{i}.tif", i)
    for i in range(3):
        write_npy(frames / f"stack{i}.npy", i)
    nested = root / "nested" / "deeper"
    nested.mkdir(parents=True)
    write_csv(nested / "inner.csv", 2)
    (root / ".hidden.csv").write_text("a\n1\n")
    (root / "notes.txt").write_text("not data")
    return {
        "table": "table",
        "array": "array",
        "image": "array",
        "picture": "array",
        "photo": "array",
        "measurement": "container",
        "climate": "container",
        "store": "container",
        "frame": "table",
        "columns": "table",
        "sheet": "container",
        "frames": "container",
        "nested": "container",
    }


_WRITERS = {
    "csv": (write_csv, ".csv"),
    "npy": (write_npy, ".npy"),
    "tiff": (write_tiff, ".tif"),
    "png": (write_png, ".png"),
    "h5": (write_h5, ".h5"),
    "parquet": (write_parquet, ".parquet"),
}


def write_mixed_tree(root: Path, files: int, *, seed: int = 0) -> dict[str, int]:
    """About ``files`` small files of mixed formats in nested directories (100 a directory).

    Deterministic for a given ``seed``. Returns how many files of each kind were written.
    """
    rng = random.Random(seed)
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    counts: dict[str, int] = {kind: 0 for kind in kinds}
    written = 0
    directory_index = 0
    while written < files:
        directory = root / f"d{directory_index // 10:04d}" / f"e{directory_index % 10}"
        directory.mkdir(parents=True, exist_ok=True)
        directory_index += 1
        in_directory = 0
        item = 0
        while in_directory < FILES_PER_DIRECTORY and written < files:
            kind = rng.choices(kinds, weights)[0]
            name = f"n{item:03d}_{kind}"  # no trailing digits: not a sequence
            item += 1
            if kind == "tiff-sequence":
                frames = min(FRAMES_PER_SEQUENCE, files - written)
                for frame in range(frames):
                    write_tiff(directory / f"s{item:03d}_frame{frame}.tif", frame)
                added = frames
            elif kind == "unrecognised":
                (directory / f"{name}.dat").write_bytes(b"\x00\x01 not a known format")
                added = 1
            else:
                writer, extension = _WRITERS[kind]
                writer(directory / f"{name}{extension}", item + directory_index)
                added = 1
            counts[kind] += added
            written += added
            in_directory += added
    (root / ".tree.json").write_text(json.dumps({"files": files, "seed": seed, "counts": counts}))
    return counts
