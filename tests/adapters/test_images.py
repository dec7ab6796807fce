import numpy
from PIL import Image

from tiled.adapters.registry import check_complete, inspect, natural_sorted
from tiled.testing.adapters import ArrayCase, ArraySuite
from tiled.testing.served import ServedSuite


def native(path):
    with Image.open(path) as image:
        return numpy.asarray(image)


class TestImages(ArraySuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        rng = numpy.random.default_rng(2)
        gray = rng.integers(0, 255, (30, 40), dtype="uint8")
        rgb = rng.integers(0, 255, (25, 35, 3), dtype="uint8")
        rgba = rng.integers(0, 255, (10, 12, 4), dtype="uint8")
        deep = rng.integers(0, 65535, (20, 22), dtype="uint16")
        Image.fromarray(gray).save(directory / "gray.png")
        Image.fromarray(rgb).save(directory / "rgb.png")
        Image.fromarray(rgba).save(directory / "rgba.png")
        Image.fromarray(deep).save(directory / "deep.png")
        Image.fromarray(rgb).save(directory / "photo.jpg", quality=90)
        Image.fromarray(gray).save(directory / "gray.jpeg")
        names = ["gray.png", "rgb.png", "rgba.png", "deep.png", "photo.jpg", "gray.jpeg"]
        return [
            ArrayCase(
                name.replace(".", "_"),
                "image/png" if name.endswith(".png") else "image/jpeg",
                [directory / name],
                native(directory / name),
            )
            for name in names
        ]

    def test_lossless_png_is_what_was_written(self, written):
        deep = next(c for c in written if c.name == "deep_png")
        assert deep.expected.dtype == numpy.uint16
        assert inspect("image/png", deep.paths).metadata["format"] == "PNG"

    def test_incomplete_files_are_recognised(self, written, tmp_path):
        for case in written[:1] + written[4:5]:
            path = case.paths[0]
            assert check_complete(case.mimetype, [path]) is None
            partial = tmp_path / f"partial{path.suffix}"
            partial.write_bytes(path.read_bytes()[:-20])
            assert "end marker" in check_complete(case.mimetype, [partial])


class TestImageSequences(ArraySuite, ServedSuite):
    truncation_must_fail = True

    def cases(self, directory):
        directory.mkdir(parents=True)
        rng = numpy.random.default_rng(3)
        frames = rng.integers(0, 255, (11, 9, 7), dtype="uint8")
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(directory / f"scan{i}.png")
            Image.fromarray(frame).save(directory / f"shot{i}.jpg")
        pngs = natural_sorted(directory.glob("scan*.png"))
        jpgs = natural_sorted(directory.glob("shot*.jpg"))
        return [
            ArrayCase("pngs", "multipart/related;type=image/png", pngs, frames),
            ArrayCase(
                "jpegs",
                "multipart/related;type=image/jpeg",
                jpgs,
                numpy.stack([native(p) for p in jpgs]),
            ),
        ]


def test_png_metadata_without_decoding_matches_pillow(tmp_path):
    """EXIF of a PNG is read without decoding the pixels unless a chunk after the image
    data could add it (here: an XMP orientation after IDAT); both give Pillow's answer."""
    import struct
    import zlib

    import numpy
    from PIL import Image

    from tiled.adapters.images import _metadata_of, _png_late_metadata

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    array = (numpy.arange(48 * 64 * 3) % 251).astype("uint8").reshape(48, 64, 3)
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(array).save(tmp_path / "plain.png")
    Image.fromarray(array).save(tmp_path / "exif.png", exif=exif)
    raw = (tmp_path / "plain.png").read_bytes()
    xmp = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x><tiff:Orientation>6</tiff:Orientation></x>"
    (tmp_path / "late.png").write_bytes(raw[:-12] + chunk(b"iTXt", xmp) + raw[-12:])
    expected = {"plain.png": None, "exif.png": {"Orientation": 3}, "late.png": {"Orientation": 6}}
    for name, orientation in expected.items():
        with Image.open(tmp_path / name) as image:
            assert _png_late_metadata(image) is (name == "late.png")
            metadata = _metadata_of(image)
        assert metadata.get("exif") == orientation
