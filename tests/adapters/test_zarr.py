import json

import numpy
import pytest
import zarr

from tiled.adapters.registry import check_complete, inspect, open_adapter
from tiled.testing.adapters import ArrayCase, ArraySuite, ContainerCase, ContainerSuite
from tiled.testing.served import ServedSuite

ZARR = "application/x-zarr"


def native(path, inner=""):
    return numpy.asarray(zarr.open(store=str(path), mode="r", path=inner)[...])


class TestZarrArrays(ArraySuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        v3 = zarr.create_array(
            directory / "v3.zarr",
            shape=(8, 6),
            chunks=(4, 3),
            dtype="f4",
            dimension_names=["y", "x"],
        )
        v3[:] = numpy.arange(48, dtype="f4").reshape(8, 6)
        v3.attrs["units"] = "m"
        v2 = zarr.create_array(
            directory / "v2.zarr", shape=(10, 7), chunks=(3, 4), dtype=">i4", zarr_format=2
        )
        v2[:] = numpy.arange(70).reshape(10, 7)
        v2.attrs["_ARRAY_DIMENSIONS"] = ["row", "column"]
        sharded = zarr.create_array(
            directory / "sharded.zarr", shape=(16, 16), chunks=(4, 4), shards=(8, 8), dtype="u2"
        )
        sharded[:] = numpy.arange(256, dtype="u2").reshape(16, 16)
        sparse = zarr.create_array(
            directory / "sparse.zarr", shape=(6, 6), chunks=(2, 2), dtype="i8", fill_value=-7
        )
        sparse[0:2, 0:2] = 1  # the other chunks were never written: they hold the fill value
        return [
            ArrayCase(
                "v3",
                ZARR,
                [directory / "v3.zarr"],
                native(directory / "v3.zarr"),
                metadata={"units": "m"},
                dims=("y", "x"),
                chunk_shape=(4, 3),
            ),
            ArrayCase(
                "v2",
                ZARR,
                [directory / "v2.zarr"],
                native(directory / "v2.zarr"),
                metadata={},
                dims=("row", "column"),
                chunk_shape=(3, 4),
            ),
            ArrayCase(
                "sharded",
                ZARR,
                [directory / "sharded.zarr"],
                native(directory / "sharded.zarr"),
                chunk_shape=(4, 4),
            ),
            ArrayCase(
                "sparse", ZARR, [directory / "sparse.zarr"], native(directory / "sparse.zarr")
            ),
        ]

    def test_big_endian_v2_is_served_big_endian(self, written):
        v2 = next(c for c in written if c.name == "v2")
        assert inspect(ZARR, v2.paths).structure.data_type.to_json()["endianness"] == "big"


class TestZarrGroups(ContainerSuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        cases = []
        for version in (2, 3):
            path = directory / f"group{version}.zarr"
            root = zarr.open_group(path, mode="w", zarr_format=version)
            root.attrs["title"] = f"v{version} group"
            x = root.create_array("x", shape=(10,), chunks=(4,), dtype="i8")
            x[:] = numpy.arange(10)
            inner = root.create_group("inner")
            inner.attrs["kind"] = "nested"
            image = inner.create_array("image", shape=(6, 5), chunks=(3, 5), dtype="f8")
            image[:] = numpy.linspace(0, 1, 30).reshape(6, 5)
            tree = {
                "inner": {"image": native(path, "inner/image")},
                "x": native(path, "x"),
            }
            metadata = {"": {"title": f"v{version} group"}, "inner": {"kind": "nested"}}
            cases.append(ContainerCase(f"group{version}", ZARR, [path], tree, metadata))
        return cases

    @pytest.mark.filterwarnings("ignore::zarr.errors.UnstableSpecificationWarning")
    def test_variable_length_strings(self, tmp_path):
        root = zarr.open_group(tmp_path / "s.zarr", mode="w")
        names = root.create_array("names", shape=(3,), dtype=str)
        names[:] = numpy.array(["a", "bbb", "cé"])
        adapter = open_adapter(ZARR, [tmp_path / "s.zarr"])["names"]
        assert adapter.structure().data_type.to_json()["itemsize"] == 3 * 4
        assert adapter.read().tolist() == ["a", "bbb", "cé"]

    def test_incomplete_stores_are_recognised(self, written, tmp_path):
        assert check_complete(ZARR, written[0].paths) is None
        empty = tmp_path / "empty.zarr"
        empty.mkdir()
        assert "no Zarr metadata" in check_complete(ZARR, [empty])
        half = tmp_path / "half.zarr"
        half.mkdir()
        document = json.dumps({"zarr_format": 3, "node_type": "group"})
        (half / "zarr.json").write_text(document[: len(document) // 2])
        assert check_complete(ZARR, [half]) is not None


def test_store_files_may_not_point_outside_the_readable_directories(tmp_path):
    from tiled.errors import AccessDeniedError

    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    for where in (data, outside):
        array = zarr.create_array(where / "a.zarr", shape=(4,), chunks=(2,), dtype="i8")
        array[:] = numpy.arange(4) if where == data else numpy.full(4, 666)
    chunk = next(p for p in (data / "a.zarr").rglob("*") if p.is_file() and p.name == "1")
    secret = outside / "a.zarr" / chunk.relative_to(data / "a.zarr")
    chunk.unlink()
    chunk.symlink_to(secret)
    adapter = open_adapter(ZARR, [data / "a.zarr"], readable=[data])
    assert adapter.read((slice(0, 2),)).tolist() == [0, 1]
    with pytest.raises(AccessDeniedError, match="outside"):
        adapter.read()
