import numpy
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
