"""``serve directory --watch`` against real files being written, moved and deleted, with a
client polling over HTTP throughout: it never sees a broken or partial node, nothing
unrelated disappears, and the catalog ends matching the tree."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time

import h5py
import numpy
import pytest
import tifffile

from .harness import HEADERS, Watchdog, watching

pytestmark = [pytest.mark.serial, pytest.mark.slow]

FRAME = (32, 32)


def frame(seed: int) -> numpy.ndarray:
    return numpy.full(FRAME, seed, dtype="uint16")


def tiff_bytes(array: numpy.ndarray) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, photometric="minisblack")
    return buffer.getvalue()


def write_slowly(path, chunks, pause: float) -> None:
    with open(path, "wb") as file:
        for chunk in chunks:
            file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
            time.sleep(pause)


def unrelated_stay(server, keys: set[str]) -> Watchdog:
    """A watchdog failing whenever one of ``keys`` (top level) does not answer 200."""

    def check() -> str | None:
        for key in keys:
            status = server.get(f"/metadata/{key}").status_code
            if status != 200:
                return f"{key} answered {status}"
        return None

    return Watchdog(check)


def test_files_being_written_appear_only_whole(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    numpy.save(data / "unrelated.npy", numpy.arange(3))
    datasets = {f"d{i}" for i in range(4)}
    stack = numpy.arange(6 * 32 * 32, dtype="uint16").reshape(6, 32, 32)
    content = tiff_bytes(stack)
    rows = ["x,y\n"] + [f"{i},{i * i}\n" for i in range(60)]

    def write_h5() -> None:
        with h5py.File(data / "scan.h5", "w") as f:
            for name in sorted(datasets):
                f.create_dataset(name, data=numpy.arange(100.0))
                f.flush()
                time.sleep(1.0)

    def write_tiff() -> None:
        size = len(content) // 8 + 1
        chunks = [content[i : i + size] for i in range(0, len(content), size)]
        write_slowly(data / "stack.tif", chunks, 0.3)

    def write_csv() -> None:
        chunks = ["".join(rows[i : i + 10]).encode() for i in range(0, len(rows), 10)]
        write_slowly(data / "log.csv", chunks, 0.3)

    def partial_nodes() -> str | None:
        if server.metadata("scan") is not None:
            found = server.keys("scan")
            if found != datasets:
                return f"scan has {sorted(found)}"
            response = server.get("/array/full/scan/d3")
            if response.status_code != 200:
                return f"scan/d3 answered {response.status_code}"
        meta = server.metadata("stack")
        if meta is not None:
            shape = meta["attributes"]["structure"]["shape"]
            if shape != [6, 32, 32]:
                return f"stack has shape {shape}"
            response = server.get("/array/full/stack")
            if response.status_code != 200 or response.content != stack.tobytes():
                return f"stack read {response.status_code}, {len(response.content)} bytes"
        if server.metadata("log") is not None:
            response = server.http.get("/table/full/log", headers={**HEADERS, "Accept": "text/csv"})
            if response.status_code != 200:
                return f"log answered {response.status_code}"
            lines = response.text.strip().splitlines()
            if len(lines) != len(rows):
                return f"log has {len(lines) - 1} rows"
        return None

    with watching(data, "--settle", "3") as server:
        server.wait_indexed()
        writers = [threading.Thread(target=w) for w in (write_h5, write_tiff, write_csv)]
        with Watchdog(partial_nodes) as watchdog, unrelated_stay(server, {"unrelated"}) as other:
            for writer in writers:
                writer.start()
            for writer in writers:
                writer.join()
            server.wait_for("the three files", lambda: {"scan", "stack", "log"} <= server.keys())
            server.wait_for("a clean poll", lambda: partial_nodes() is None)
        assert watchdog.failures == [], watchdog.failures[:5]
        assert other.failures == [], other.failures[:5]
        assert watchdog.rounds > 10
        assert server.keys() == {"unrelated", "scan", "stack", "log"}


def test_deletes_renames_directories_and_a_growing_sequence(tmp_path):
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "gone").mkdir()
    numpy.save(data / "keep.npy", numpy.arange(4))
    numpy.save(data / "doomed.npy", numpy.arange(4))
    numpy.save(data / "before.npy", numpy.arange(5))
    numpy.save(data / "gone" / "inside.npy", numpy.arange(2))
    for i in range(3):
        tifffile.imwrite(data / "raw" / f"img{i}.tif", frame(i))

    with watching(data, "--settle", "1") as server:
        server.wait_indexed()
        assert "for file system events (inotify)" in server.output()
        server.wait_for("the initial tree", lambda: {"raw"} <= server.keys())
        assert server.keys() == {"keep", "doomed", "before", "gone", "raw"}
        with unrelated_stay(server, {"keep"}) as other:
            (data / "doomed.npy").unlink()
            (data / "before.npy").rename(data / "after.npy")
            shutil.rmtree(data / "gone")
            (data / "new" / "deeper").mkdir(parents=True)
            numpy.save(data / "new" / "deeper" / "found.npy", numpy.arange(7))
            server.wait_for(
                "deletions, the rename and the new directory",
                lambda: (
                    server.keys() == {"keep", "after", "new", "raw"}
                    and server.keys("new/deeper") == {"found"}
                ),
            )
            for i in range(3, 10):
                tifffile.imwrite(data / "raw" / f"img{i}.tif", frame(i))
            server.wait_for(
                "the sequence to grow to 10 frames",
                lambda: server.metadata("raw/img")["attributes"]["structure"]["shape"][0] == 10,
            )
            assert server.keys("raw") == {"img"}
            frames = numpy.frombuffer(server.get("/array/full/raw/img").content, "uint16")
            assert frames.reshape(10, *FRAME)[:, 0, 0].tolist() == list(range(10))
        assert other.failures == [], other.failures[:5]


def test_a_burst_of_a_thousand_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    numpy.save(data / "unrelated.npy", numpy.arange(3))
    with watching(data, "--settle", "1") as server:
        server.wait_indexed()
        with unrelated_stay(server, {"unrelated"}) as other:
            burst = data / "burst"
            burst.mkdir()
            for i in range(1000):
                (burst / f"t{i:04d}.csv").write_text(f"a,b\n{i},{i}\n")
            server.wait_for("1,000 files", lambda: len(server.keys("burst")) == 1000, timeout=300)
        assert other.failures == [], other.failures[:5]
        assert server.keys("burst") == {f"t{i:04d}" for i in range(1000)}


def test_polling_mode(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    numpy.save(data / "first.npy", numpy.arange(3))
    with watching(data, "--poll", "0.5", "--settle", "1") as server:
        server.wait_indexed()
        server.wait_for("the first file", lambda: server.keys() == {"first"})
        assert "Watch: polling" in server.output()
        numpy.save(data / "second.npy", numpy.arange(3))
        (data / "sub").mkdir()
        numpy.save(data / "sub" / "third.npy", numpy.arange(3))
        server.wait_for(
            "new files by polling",
            lambda: server.keys() == {"first", "second", "sub"} and server.keys("sub") == {"third"},
        )
        (data / "first.npy").unlink()
        numpy.save(data / "second.npy", numpy.arange(8))
        server.wait_for(
            "a deletion and a change by polling",
            lambda: (
                server.keys() == {"second", "sub"}
                and server.metadata("second")["attributes"]["structure"]["shape"] == [8]
            ),
        )


HOLDING_WALKER = '''
import os, time
from pathlib import Path

def walker(directory, key_path, options):
    """Hold the walk at the directory named 'late' until the release file exists."""
    if directory.name == "late":
        (Path(os.environ["TILED_TEST_RELEASE"]).parent / "holding").touch()
        release = Path(os.environ["TILED_TEST_RELEASE"])
        deadline = time.monotonic() + 300
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return None
'''


def test_files_created_during_the_initial_walk_are_not_lost(tmp_path):
    data = tmp_path / "data"
    (data / "early").mkdir(parents=True)
    (data / "late").mkdir()
    numpy.save(data / "early" / "a.npy", numpy.arange(3))
    numpy.save(data / "late" / "b.npy", numpy.arange(3))
    (tmp_path / "holding_walker.py").write_text(HOLDING_WALKER)
    control = tmp_path / "control"
    control.mkdir()
    env = {
        "PYTHONPATH": str(tmp_path),
        "TILED_TEST_RELEASE": str(control / "release"),
    }
    with watching(data, "--settle", "1", "--walker", "holding_walker:walker", env=env) as server:
        server.wait_for("the walk to hold", lambda: (control / "holding").exists())
        # Written while the walk is held: in walked directories, and a new one.
        numpy.save(data / "early" / "during.npy", numpy.arange(3))
        numpy.save(data / "top.npy", numpy.arange(3))
        (data / "fresh").mkdir()
        numpy.save(data / "fresh" / "c.npy", numpy.arange(3))
        (control / "release").touch()
        server.wait_indexed()
        server.wait_for(
            "the files written during the walk",
            lambda: (
                server.keys() == {"early", "late", "top", "fresh"}
                and server.keys("early") == {"a", "during"}
                and server.keys("fresh") == {"c"}
            ),
        )


def test_an_hdf5_file_open_for_writing_waits_until_closed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with watching(data, "--settle", "1") as server:
        server.wait_indexed()
        with h5py.File(data / "held.h5", "w") as f:
            f["first"] = numpy.arange(5.0)
            f.flush()
            # Quiet for longer than the settle window, but still open: not registered.
            # A file written after it, in the same directory, shows the window passed.
            numpy.save(data / "after.npy", numpy.arange(3))
            server.wait_for("the file written later", lambda: {"after"} <= server.keys())
            server.wait_for(
                "the watcher to find it open",
                lambda: "held.h5: open for writing (a writer holds its lock)" in server.output(),
            )
            assert server.metadata("held") is None
            f["second"] = numpy.arange(3.0)
        server.wait_for("the closed file", lambda: server.metadata("held") is not None)
        assert server.keys("held") == {"first", "second"}


def test_registered_files_that_change_never_flicker(tmp_path):
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "log.csv").write_text("x\n" + "".join(f"{i}\n" for i in range(10)))
    tifffile.imwrite(data / "raw" / "img0.tif", frame(0))
    tifffile.imwrite(data / "raw" / "img1.tif", frame(1))

    def always_there() -> str | None:
        for path in ("log", "raw/img"):
            status = server.get(f"/metadata/{path}").status_code
            if status != 200:
                return f"{path} answered {status}"
        response = server.http.get("/table/full/log", headers={**HEADERS, "Accept": "text/csv"})
        if response.status_code != 200:
            return f"reading log answered {response.status_code}"
        frames = server.get("/array/full/raw/img")
        if frames.status_code != 200:
            return f"reading raw/img answered {frames.status_code}"
        return None

    def rows() -> int:
        """Lines of the CSV as served (header included)."""
        response = server.http.get("/table/full/log", headers={**HEADERS, "Accept": "text/csv"})
        return response.text.count("\n")

    with watching(data, "--settle", "1") as server:
        server.wait_indexed()
        server.wait_for("the initial tree", lambda: server.keys() == {"log", "raw"})
        with Watchdog(always_there) as watchdog:
            for step in range(1, 4):
                with open(data / "log.csv", "a") as f:
                    f.write("".join(f"{i}\n" for i in range(10 * step, 10 * step + 10)))
                tifffile.imwrite(data / "raw" / f"img{step + 1}.tif", frame(step + 1))
                server.wait_for(
                    f"step {step}",
                    lambda step=step: (
                        server.metadata("raw/img")["attributes"]["structure"]["shape"][0]
                        == step + 2
                        and rows() == 10 * step + 11
                    ),
                )
        assert watchdog.failures == [], watchdog.failures[:5]
        assert watchdog.rounds > 5


def test_a_zarr_store_appears_once_its_chunks_exist(tmp_path):
    import zarr

    data = tmp_path / "data"
    data.mkdir()
    final = numpy.arange(64, dtype="int32").reshape(8, 8)

    def whole_or_absent() -> str | None:
        if server.metadata("store") is None:
            return None
        response = server.get("/array/full/store")
        if response.status_code != 200:
            return f"store answered {response.status_code}"
        if response.content != final.tobytes():
            return "store served before all its chunks were written"
        return None

    with watching(data, "--settle", "1") as server:
        server.wait_indexed()
        with Watchdog(whole_or_absent) as watchdog:
            array = zarr.create_array(data / "store.zarr", shape=(8, 8), chunks=(2, 8), dtype="i4")
            for row in range(0, 8, 2):
                time.sleep(0.7)
                array[row : row + 2] = final[row : row + 2]
            server.wait_for("the store", lambda: server.metadata("store") is not None)
            server.wait_for("a clean poll", lambda: whole_or_absent() is None)
        assert watchdog.failures == [], watchdog.failures[:5]
