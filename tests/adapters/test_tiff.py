import numpy
import pytest
import tifffile

from tiled.adapters.registry import check_complete, inspect, natural_sorted
from tiled.testing.adapters import ArrayCase, ArraySuite
from tiled.testing.served import ServedSuite

TIFF = "image/tiff"
TIFF_SEQUENCE = "multipart/related;type=image/tiff"


def native(path):
    return tifffile.imread(path)


class TestTIFF(ArraySuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        rng = numpy.random.default_rng(1)
        page = rng.integers(0, 60000, (64, 48), dtype="uint16")
        tifffile.imwrite(directory / "page.tif", page, description="one page")
        stack = rng.integers(0, 255, (7, 20, 30), dtype="uint8")
        tifffile.imwrite(directory / "stack.tif", stack)
        rgb = rng.integers(0, 255, (3, 16, 24, 3), dtype="uint8")
        tifffile.imwrite(directory / "rgb.tif", rgb, photometric="rgb")
        tiled = rng.normal(size=(80, 96)).astype(">f4")
        tifffile.imwrite(directory / "tiled.tif", tiled, tile=(32, 32), byteorder=">")
        hyper = rng.integers(0, 1000, (2, 3, 10, 12), dtype="int32")
        tifffile.imwrite(
            directory / "hyper.tif", hyper, photometric="minisblack", metadata={"axes": "TZYX"}
        )
        deflated = numpy.arange(50 * 40, dtype="uint16").reshape(50, 40)
        tifffile.imwrite(directory / "zip.tif", deflated, compression="zlib", rowsperstrip=8)
        return [
            ArrayCase(
                "page",
                TIFF,
                [directory / "page.tif"],
                native(directory / "page.tif"),
                metadata={"ImageWidth": 48, "ImageLength": 64, "BitsPerSample": 16},
            ),
            ArrayCase(
                "stack",
                TIFF,
                [directory / "stack.tif"],
                native(directory / "stack.tif"),
                chunk_shape=(1, 20, 30),
            ),
            ArrayCase("rgb", TIFF, [directory / "rgb.tif"], native(directory / "rgb.tif")),
            ArrayCase("tiled", TIFF, [directory / "tiled.tif"], native(directory / "tiled.tif")),
            ArrayCase("hyper", TIFF, [directory / "hyper.tif"], native(directory / "hyper.tif")),
            ArrayCase("zip", TIFF, [directory / "zip.tif"], native(directory / "zip.tif")),
        ]

    def test_tags_are_plain_json(self, written):
        metadata = inspect(TIFF, written[0].paths).metadata
        assert metadata["Compression"] == 1
        assert type(metadata["Compression"]) is int
        assert metadata["StripByteCounts"] == [64 * 48 * 2]

    def test_incomplete_files_are_recognised(self, written, tmp_path):
        stack = next(c for c in written if c.name == "stack").paths[0]
        assert check_complete(TIFF, [stack]) is None
        partial = tmp_path / "partial.tif"
        partial.write_bytes(stack.read_bytes()[: stack.stat().st_size // 2])
        assert check_complete(TIFF, [partial]) is not None


class TestTIFFSequence(ArraySuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        frames = numpy.arange(12 * 16 * 8, dtype="uint16").reshape(12, 16, 8)
        for i, frame in enumerate(frames, start=1):
            suffix = ".tiff" if i % 2 else ".tif"  # the two spellings may mix
            tifffile.imwrite(directory / f"frame_{i}{suffix}", frame)
        paths = natural_sorted(directory.iterdir())
        assert [p.stem for p in paths[:3]] == ["frame_1", "frame_2", "frame_3"]
        return [ArrayCase("frames", TIFF_SEQUENCE, paths, frames, chunk_shape=(1, 16, 8))]

    def test_one_block_per_file(self, written):
        structure = inspect(TIFF_SEQUENCE, written[0].paths).structure
        assert structure.chunks == ((1,) * 12, (16,), (8,))
        assert inspect(TIFF_SEQUENCE, written[0].paths).metadata == {}


def test_pages_are_blocks_and_huge_pages_are_capped():
    from tiled.adapters.chunking import MAX_BLOCK_BYTES
    from tiled.adapters.tiff import tiff_chunks

    assert tiff_chunks((3, 4, 10, 12), 2, (10, 12)) == ((1, 1, 1), (1,) * 4, (10,), (12,))
    rows, columns = tiff_chunks((40_000, 40_000), 2, (40_000, 40_000))  # a 3 GB page
    assert columns == (40_000,)
    assert rows[0] * 40_000 * 2 <= MAX_BLOCK_BYTES
    assert sum(rows) == 40_000


def _damaged(good: bytes) -> dict[str, bytes]:
    third = len(good) // 3
    return {
        "truncated": good[: len(good) // 2],
        "header only": good[:6],
        "garbage after the header": b"II*\x00" + bytes(range(256)) * 8,
        "zeros": bytes(1000),
        "overwritten middle": good[:third] + b"\xff" * 1000 + good[third + 1000 :],
    }


def _open_handles(path):
    import psutil

    return [f for f in psutil.Process().open_files() if f.path == str(path)]


@pytest.mark.parametrize(
    "damage",
    ["truncated", "header only", "garbage after the header", "zeros", "overwritten middle"],
)
def test_failed_reads_close_the_file(tmp_path, damage):
    """Every read of a file damaged after registration fails with a domain error and leaves
    no handle open (a leak would exhaust descriptors on a busy server)."""
    from tiled.adapters.tiff import TIFFAdapter, TIFFSequenceAdapter
    from tiled.errors import TiledError

    stack = numpy.arange(5 * 64 * 64, dtype="uint16").reshape(5, 64, 64)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack, compression="zlib")
    good = path.read_bytes()
    registered = TIFFAdapter(path).structure()
    frame = tmp_path / "frame.tif"
    tifffile.imwrite(frame, stack[0])
    frame_structure = TIFFSequenceAdapter([frame, path]).structure()
    path.write_bytes(_damaged(good)[damage])
    attempts = {
        "full read": lambda: TIFFAdapter(path, registered).read(()),
        "partial read": lambda: TIFFAdapter(path, registered).read((slice(0, 2), 3)),
        "block": lambda: TIFFAdapter(path, registered).read_block((1, 0, 0)),
        "tags": lambda: TIFFAdapter(path).metadata(),
        "structure": lambda: TIFFAdapter(path).structure(),
        "sequence frame": lambda: TIFFSequenceAdapter([frame, path], frame_structure).read(()),
    }
    failures = 0
    for what, attempt in attempts.items():
        try:
            attempt()
        except TiledError as err:
            failures += 1
            message = str(err)
        except Exception as err:  # the point is that nothing but domain errors escapes
            pytest.fail(f"{what} raised {type(err).__name__}: {err}, not a domain error")
        else:
            message = ""
        assert str(tmp_path) not in message, what
        assert _open_handles(path) == [], what
    assert failures >= 3  # some damage leaves the header (tags, structure) readable
    path.unlink()  # and the file can be replaced and read again at once
    tifffile.imwrite(path, stack)
    assert numpy.array_equal(TIFFAdapter(path, registered).read(()), stack)
    assert _open_handles(path) == []


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_uncompressed_stacks_are_read_as_byte_runs(tmp_path, byteorder):
    """Runs of whole pages of an uncompressed stack come from one positioned read of the
    file, in either byte order, with parts that end mid-array (as a streamed response
    reads them); the values are exactly tifffile's."""
    from tiled.adapters.selection import as_slices, normalise, pieces
    from tiled.adapters.tiff import TIFFAdapter

    stack = numpy.random.default_rng(3).integers(0, 60000, (9, 16, 24)).astype(f"{byteorder}u2")
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack, byteorder=byteorder)
    adapter = TIFFAdapter(path)
    assert adapter._stored_layout() is not None
    parts = pieces(normalise((), stack.shape), 2, 4 * 16 * 24 * 2)  # 4, 4, then 1 page
    read = [adapter.read(as_slices(part)) for part in parts]
    assert [len(part) for part in read] == [4, 4, 1]
    assert numpy.array_equal(numpy.concatenate(read), stack)
    assert numpy.array_equal(adapter.read((slice(2, 5), slice(3, 4))), stack[2:5, 3:4])
    assert numpy.array_equal(adapter.read((7,)), stack[7])
    assert adapter.read((slice(3, 3),)).shape == (0, 16, 24)


def test_byte_runs_follow_a_replaced_file_and_refuse_a_truncated_one(tmp_path):
    from tiled.adapters.tiff import TIFFAdapter
    from tiled.errors import TiledError

    stack = numpy.arange(6 * 32 * 32, dtype="uint16").reshape(6, 32, 32)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack)
    adapter = TIFFAdapter(path)
    assert numpy.array_equal(adapter.read(()), stack)
    tifffile.imwrite(path, stack[::-1].copy())  # rewritten in place: same size and layout
    assert numpy.array_equal(adapter.read(()), stack[::-1])
    path.write_bytes(path.read_bytes()[: path.stat().st_size - 1000])
    with pytest.raises(TiledError, match=r"truncated|changed|cannot"):
        adapter.read(())
    with pytest.raises(TiledError):
        adapter.read((slice(5, 6),))
    assert numpy.array_equal(adapter.read((slice(0, 2),)), stack[::-1][:2])
