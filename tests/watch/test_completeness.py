"""The cheap per-format checks the watcher runs before it inspects a file that may still
be written: HDF5 held open by a writer, TIFF cut short, Zarr with chunks still to come."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy
import tifffile
import zarr

from tiled.adapters.registry import check_complete

H5, TIFF, ZARR = "application/x-hdf5", "image/tiff", "application/x-zarr"

HOLD = """
import sys, h5py
f = h5py.File(sys.argv[1], "w", libver=sys.argv[2])
f["x"] = [1.0, 2.0]
f.flush()
if sys.argv[2] == "latest":
    f.swmr_mode = True
print("open", flush=True)
sys.stdin.readline()
f.close()
"""


def _held(path, libver):
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), libver],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_hdf5_open_for_writing_is_incomplete_until_closed(tmp_path):
    for libver in ("earliest", "latest"):  # file lock only; SWMR flags in the superblock
        path = tmp_path / f"{libver}.h5"
        writer = _held(path, libver)
        try:
            assert writer.stdout.readline().strip() == "open"
            reason = check_complete(H5, [path])
            assert "open for writing" in (reason or ""), libver
        finally:
            writer.communicate("done\n", timeout=60)
        assert check_complete(H5, [path]) is None, libver


def test_a_reader_does_not_make_an_hdf5_file_incomplete(tmp_path):
    path = tmp_path / "read.h5"
    with h5py.File(path, "w") as f:
        f["x"] = numpy.arange(3)
    with h5py.File(path, "r"):
        assert check_complete(H5, [path]) is None


def test_tiff_cut_anywhere_is_incomplete(tmp_path):
    whole = tmp_path / "whole.tif"
    frames = numpy.arange(4 * 32 * 32, dtype="uint16").reshape(4, 32, 32)
    tifffile.imwrite(whole, frames, photometric="minisblack")
    assert check_complete(TIFF, [whole]) is None
    content = whole.read_bytes()
    for cut in (4, 100, len(content) // 2, len(content) - 200):
        part = tmp_path / f"part{cut}.tif"
        part.write_bytes(content[:cut])
        assert check_complete(TIFF, [part]) is not None, cut


def test_zarr_chunks_named_by_the_metadata_must_exist(tmp_path):
    for zarr_format in (2, 3):
        path = tmp_path / f"v{zarr_format}.zarr"
        group = zarr.open_group(path, mode="w", zarr_format=zarr_format)
        array = group.create_array("x", shape=(10, 10), chunks=(5, 5), dtype="i4")
        array[:5] = 1
        assert "does not exist yet" in check_complete(ZARR, [path])
        array[5:] = 2
        assert check_complete(ZARR, [path]) is None
        chunk = next(
            p
            for p in path.rglob("*")
            if p.is_file() and "zarr.json" not in p.name and not p.name.startswith(".")
        )
        chunk.write_bytes(b"")
        assert "empty" in check_complete(ZARR, [path])
