import h5py
import numpy
import pytest

from tiled.adapters.registry import check_complete, inspect, open_adapter
from tiled.errors import AccessDeniedError, DataGoneError, UnsupportedOperationError
from tiled.testing.adapters import ArrayCase, ArraySuite, ContainerCase, ContainerSuite
from tiled.testing.served import ServedSuite, register

H5 = "application/x-hdf5"
RECORDS = numpy.dtype([("id", "<i4"), ("energy", ">f8"), ("flag", "u1"), ("pos", "<f4", (3,))])


def write_nested(path):
    """A NeXus-like file: nested groups, chunked and contiguous datasets of many dtypes."""
    counts = numpy.arange(100, dtype="float64").reshape(10, 10)
    records = numpy.zeros(4, RECORDS)
    records["id"] = [1, 2, 3, 4]
    records["energy"] = [1.5, 2.5, numpy.nan, -1.0]
    records["pos"] = numpy.arange(12).reshape(4, 3)
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "nested h5"
        f.attrs["created"] = b"bytes become text"
        f.attrs["shape"] = numpy.array([10, 10])
        f.attrs["ratio"] = numpy.float32(0.5)
        f.attrs["bad"] = numpy.inf
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_group("data")
        data.create_dataset("counts", data=counts, chunks=(5, 5)).attrs["units"] = "counts"
        data["scalar"] = 3.5
        data["text"] = numpy.array(["a", "bb", "ccé"], dtype=h5py.string_dtype())
        data["fixed"] = numpy.array([b"ab", b"c"], dtype="S2")
        data["records"] = records
        data["flags"] = numpy.array([True, False, True])
        data["empty"] = numpy.zeros((0, 3), "int16")
        f["big_endian"] = numpy.arange(12, dtype=">i4").reshape(3, 4)
        f.create_dataset(
            "compressed",
            data=numpy.arange(2000, dtype="u2").reshape(40, 50),
            chunks=(7, 9),
            compression="gzip",
        )
        f["alias"] = h5py.SoftLink("/entry/data/counts")
    return {
        "alias": counts,
        "big_endian": numpy.arange(12, dtype=">i4").reshape(3, 4),
        "compressed": numpy.arange(2000, dtype="u2").reshape(40, 50),
        "entry": {
            "data": {
                "counts": counts,
                "empty": numpy.zeros((0, 3), "int16"),
                "fixed": numpy.array([b"ab", b"c"], dtype="S2"),
                "flags": numpy.array([True, False, True]),
                "records": records,
                "scalar": numpy.array([3.5]),
                "text": numpy.array(["a", "bb", "ccé"]),
            }
        },
    }


class TestHDF5File(ContainerSuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        path = directory / "nested.h5"
        tree = write_nested(path)
        metadata = {
            "": {"title": "nested h5", "created": "bytes become text", "shape": [10, 10]},
            "entry": {"NX_class": "NXentry"},
            "entry/data/counts": {"units": "counts"},
        }
        return [ContainerCase("nested", H5, [path], tree, metadata)]

    def test_root_attributes_are_json_safe(self, written):
        metadata = inspect(H5, written[0].paths).metadata
        assert metadata == {
            "title": "nested h5",
            "created": "bytes become text",
            "shape": [10, 10],
            "ratio": 0.5,
            "bad": "inf",
        }

    def test_native_chunks_become_blocks(self, written):
        counts = open_adapter(H5, written[0].paths)["entry"]["data"]["counts"]
        assert counts.structure().chunks == ((5, 5), (5, 5))
        compressed = open_adapter(H5, written[0].paths)["compressed"]
        assert compressed.structure().chunks[0] == (7,) * 5 + (5,)

    def test_compound_is_a_struct_dtype(self, written):
        records = open_adapter(H5, written[0].paths)["entry"]["data"]["records"]
        wire = records.structure().to_json()["data_type"]
        assert [f["name"] for f in wire["fields"]] == ["id", "energy", "flag", "pos"]
        assert wire["fields"][1]["dtype"]["endianness"] == "big"
        assert wire["fields"][3]["shape"] == [3]

    def test_scalar_is_shape_one(self, written):
        scalar = open_adapter(H5, written[0].paths)["entry"]["data"]["scalar"]
        assert scalar.structure().shape == (1,)
        assert scalar.structure().chunks == ((1,),)


class TestHDF5Dataset(ArraySuite, ServedSuite):
    """A dataset registered on its own (``parameters={"dataset": ...}``)."""

    def cases(self, directory):
        directory.mkdir(parents=True)
        path = directory / "one.h5"
        data = numpy.random.default_rng(0).normal(size=(30, 20, 4))
        with h5py.File(path, "w") as f:
            f.create_dataset("entry/image", data=data, chunks=(8, 20, 4)).attrs["gain"] = 2
        return [
            ArrayCase(
                "image",
                H5,
                [path],
                data,
                {"dataset": "entry/image"},
                {"gain": 2},
                chunk_shape=(8, 20, 4),
            )
        ]


def test_links_external_links_and_virtual_datasets(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        with h5py.File(data / f"part{i}.h5", "w") as f:
            f["frames"] = numpy.full((2, 3), i, "int32")
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="int32")
    for i in range(2):
        layout[2 * i : 2 * i + 2] = h5py.VirtualSource(f"part{i}.h5", "frames", shape=(2, 3))
    with h5py.File(data / "master.h5", "w") as f:
        f.create_virtual_dataset("stacked", layout, fillvalue=-1)
        f["linked"] = h5py.ExternalLink("part1.h5", "/frames")
        f["dangling"] = h5py.SoftLink("/nowhere")
        f["lost"] = h5py.ExternalLink("gone.h5", "/frames")
    root = open_adapter(H5, [data / "master.h5"], readable=[data])
    assert root.keys() == ["linked", "stacked"]  # broken links are not listed
    expected = numpy.repeat([0, 1], 6).reshape(4, 3).astype("int32")
    numpy.testing.assert_array_equal(root["stacked"].read(), expected)
    numpy.testing.assert_array_equal(
        root["stacked"].read_block((0, 0), (slice(2, 4),)), expected[2:]
    )
    numpy.testing.assert_array_equal(root["linked"].read(), numpy.ones((2, 3), "int32"))
    for key in ("dangling", "lost"):
        with pytest.raises(DataGoneError, match="broken link"):
            root[key]
    (data / "part1.h5").unlink()
    with pytest.raises(DataGoneError, match="virtual dataset"):
        open_adapter(H5, [data / "master.h5"], readable=[data])["stacked"].read()


def test_links_may_not_leave_the_readable_directories(tmp_path):
    outside, data = tmp_path / "outside", tmp_path / "data"
    outside.mkdir()
    data.mkdir()
    with h5py.File(outside / "secret.h5", "w") as f:
        f["frames"] = numpy.arange(3)
    numpy.arange(4, dtype="f8").tofile(outside / "raw.bin")
    layout = h5py.VirtualLayout(shape=(3,), dtype="int64")
    layout[:] = h5py.VirtualSource(str(outside / "secret.h5"), "frames", shape=(3,))
    with h5py.File(data / "sneaky.h5", "w") as f:
        f["escape"] = h5py.ExternalLink(str(outside / "secret.h5"), "/frames")
        f.create_virtual_dataset("virtual", layout)
        f.create_dataset("raw", shape=(4,), dtype="f8", external=[("../outside/raw.bin", 0, 32)])
    root = open_adapter(H5, [data / "sneaky.h5"], readable=[data])
    assert root.keys() == ["raw", "virtual"]
    for key in ("escape", "virtual", "raw"):
        with pytest.raises(AccessDeniedError):
            root[key].read()
    # Without a restriction (the indexer inspecting a tree it was given) the links resolve.
    assert open_adapter(H5, [data / "sneaky.h5"])["raw"].read().tolist() == [0, 1, 2, 3]


def test_listing_and_inspecting_never_read_datasets(tmp_path):
    """The raw data of this dataset lives in a file that does not exist: everything but a
    read works, which shows that opening, listing and describing read no values."""
    path = tmp_path / "lazy.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "huge",
            shape=(10**6, 1000),
            dtype="f8",
            external=[("nowhere.bin", 0, h5py.h5f.UNLIMITED)],
        )
    found = inspect(H5, [path])
    assert found.structure.keys == ("huge",)
    huge = open_adapter(H5, [path])["huge"]
    assert huge.structure().shape == (10**6, 1000)
    assert huge.structure().chunks[0][0] < 10**6  # capped: 8 GB is not one block
    with pytest.raises(DataGoneError):
        huge.read_block((0, 0))


def test_unsupported_dtypes_are_refused_clearly(tmp_path):
    path = tmp_path / "refs.h5"
    with h5py.File(path, "w") as f:
        f["target"] = numpy.arange(3)
        refs = f.create_dataset("refs", (1,), dtype=h5py.ref_dtype)
        refs[0] = f["target"].ref
    refs = open_adapter(H5, [path])["refs"]
    with pytest.raises(UnsupportedOperationError, match="object references"):
        refs.structure()


def test_incomplete_files_are_recognised(tmp_path):
    path = tmp_path / "whole.h5"
    write_nested(path)
    assert check_complete(H5, [path]) is None
    partial = tmp_path / "partial.h5"
    partial.write_bytes(path.read_bytes()[:-100])
    assert "declares" in check_complete(H5, [partial])
    stub = tmp_path / "stub.h5"
    stub.write_bytes(b"\x00" * 10)
    assert "superblock" in check_complete(H5, [stub])


@pytest.mark.serial
def test_server_answers_410_for_a_broken_link(tmp_path, served_http):
    data = tmp_path / "data"
    data.mkdir()
    with h5py.File(data / "links.h5", "w") as f:
        f["real"] = numpy.arange(3)
        f["dangling"] = h5py.SoftLink("/nowhere")
    case = ContainerCase("links", H5, [data / "links.h5"], {})
    register(served_http, case)
    assert [d["id"] for d in served_http.get("/search/links").json()["data"]] == ["real"]
    response = served_http.get("/metadata/links/dangling")
    assert response.status_code == 410
    assert "broken link" in response.json()["detail"]
    assert str(tmp_path) not in response.json()["detail"]
    assert served_http.get("/array/full/links/real").status_code == 200


def test_null_dataspace_is_an_empty_array(tmp_path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("nothing", data=h5py.Empty("f4"))
    nothing = open_adapter(H5, [path])["nothing"]
    assert nothing.structure().shape == (0,)
    assert nothing.read().shape == (0,)
    assert nothing.read().dtype == numpy.dtype("<f4")


def test_numeric_hyperslabs_read_straight_into_the_result(tmp_path):
    """Numeric datasets are read into an uninitialised array (no zero-filling): every
    kind of selection still gives h5py's values, in the file's byte order and chunking."""
    from tiled.adapters.hdf5 import read_dataset
    from tiled.adapters.selection import normalise

    rng = numpy.random.default_rng(4)
    with h5py.File(tmp_path / "n.h5", "w") as file:
        file.create_dataset("be", data=rng.normal(size=(9, 7, 5)).astype(">f4"), chunks=(4, 7, 5))
        file.create_dataset("i", data=rng.integers(-99, 99, (9, 7, 5), dtype="int16"))
        file.create_dataset("c", data=rng.normal(size=(9, 7, 5)) + 1j)
    selections = [
        (),
        (slice(2, 7),),
        (3,),
        (slice(None, None, -2), 4),
        (slice(1, 8, 3), slice(None), slice(4, 0, -1)),
        (slice(5, 5),),
        (-1, -1),
    ]
    with h5py.File(tmp_path / "n.h5", "r") as file:
        for name in ("be", "i", "c"):
            dataset = file[name]
            whole = dataset[()]
            for selection in selections:
                got = read_dataset(dataset, normalise(selection, dataset.shape))
                assert got.dtype == dataset.dtype, (name, selection)
                assert numpy.array_equal(got, whole[selection]), (name, selection)
