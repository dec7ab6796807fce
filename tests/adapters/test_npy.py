import numpy
import pytest

from tiled.adapters.registry import check_complete, inspect, open_adapter
from tiled.errors import DataGoneError
from tiled.testing.adapters import ArrayCase, ArraySuite
from tiled.testing.served import ServedSuite

NPY = "application/x-npy"


def saved(directory, name, array):
    path = directory / f"{name}.npy"
    numpy.save(path, array)
    return ArrayCase(name, NPY, [path], numpy.load(path))


class TestNPY(ArraySuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        records = numpy.zeros(5, [("x", "<f8"), ("label", "S3"), ("n", ">u2")])
        records["x"] = numpy.linspace(0, 1, 5)
        records["label"] = [b"a", b"bb", b"ccc", b"", b"e"]
        return [
            saved(directory, "cube", numpy.arange(2 * 3 * 4).reshape(2, 3, 4)),
            saved(directory, "big_endian", numpy.linspace(0, 1, 30).astype(">f8").reshape(5, 6)),
            saved(directory, "fortran", numpy.asfortranarray(numpy.arange(20.0).reshape(4, 5))),
            saved(directory, "records", records),
            saved(directory, "text", numpy.array([["ab", "c"], ["déf", ""]])),
            saved(directory, "times", numpy.arange(6).astype("datetime64[s]")),
            saved(directory, "complex", numpy.arange(6).astype("c16") * (1 + 2j)),
            saved(directory, "booleans", numpy.array([True, False, True])),
            saved(directory, "empty", numpy.zeros((0, 4), "int8")),
        ]

    def test_changed_file_is_an_error_not_wrong_bytes(self, written):
        case = written[0]
        adapter = open_adapter(NPY, case.paths, structure=inspect(NPY, case.paths).structure)
        numpy.save(case.paths[0], numpy.arange(24).reshape(4, 6))
        with pytest.raises(DataGoneError, match="changed after registration"):
            adapter.read()

    def test_incomplete_files_are_recognised(self, written, tmp_path):
        path = written[0].paths[0]
        assert check_complete(NPY, [path]) is None
        partial = tmp_path / "partial.npy"
        partial.write_bytes(path.read_bytes()[:-8])
        assert "bytes written" in check_complete(NPY, [partial])


class TestNPYSequence(ArraySuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        frames = numpy.random.default_rng(4).normal(size=(10, 6, 5))
        paths = []
        for i, frame in enumerate(frames):
            paths.append(directory / f"frame{i:03d}.npy")
            numpy.save(paths[-1], frame)
        return [ArrayCase("frames", "multipart/related;type=application/x-npy", paths, frames)]

    def test_a_frame_of_another_shape_is_reported(self, written):
        case = written[0]
        mimetype = case.mimetype
        adapter = open_adapter(
            mimetype, case.paths, structure=inspect(mimetype, case.paths).structure
        )
        numpy.save(case.paths[3], numpy.zeros((2, 2)))
        with pytest.raises(DataGoneError, match="frame 3"):
            adapter.read_block((3, 0, 0))
        numpy.testing.assert_array_equal(adapter.read_block((2, 0, 0)), case.expected[2:3])
