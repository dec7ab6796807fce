"""Containers as read-only mappings: lookups, paging, search, sort, distinct; and writes."""

import numpy
import pytest

from tiled import errors
from tiled.client import (
    ArrayClient,
    ClientAccessDeniedError,
    ClientConflictError,
    ClientNotFoundError,
    ClientUnsupportedMimetypeError,
    ClientValidationError,
    Container,
    TableClient,
)
from tiled.queries import (
    Comparison,
    Contains,
    Eq,
    FullText,
    In,
    Key,
    KeyLookup,
    KeyPresent,
    KeysFilter,
    Like,
    NotEq,
    NotIn,
    Regex,
    Spec,
    StructureFamilyQuery,
)
from tiled.structures.core import StructureFamily

from .conftest import FRAMES, RecordingTransport, array_source

pytestmark = pytest.mark.serial

KEYS = [f"n{i:03d}" for i in range(120)]


@pytest.fixture(scope="module")
def client(served):
    with served.client() as client:
        yield client


@pytest.fixture(scope="module")
def many(client):
    return client["many"]


def test_len_iteration_and_membership(client, many):
    assert len(client) == 10
    assert list(client)[:3] == ["frames", "big_endian", "records"]
    assert len(many) == 120
    assert list(many) == KEYS  # crosses pages of 100
    assert "n005" in many
    assert "nope" not in many
    assert ("many", "n001") in client
    assert 5 not in many


def test_getitem_forms(client):
    assert client["many"]["n007"].metadata["i"] == 7
    assert client["many/n007"].path == "many/n007"
    assert client["many", "n008"].path_parts == ("many", "n008")
    assert client["/many//n009/"].key == "n009"
    assert isinstance(client["frames"], ArrayClient)
    assert isinstance(client["csv"], TableClient)
    assert isinstance(client["h5/entry"], Container)


def test_missing_key_is_key_error(client):
    with pytest.raises(KeyError, match="No such entry"):
        client["nope"]
    with pytest.raises(ClientNotFoundError) as caught:
        client["many/nope/deeper"]
    assert caught.value.status_code == 404
    assert isinstance(caught.value, errors.NotFoundError)
    assert client.get("nope") is None
    with pytest.raises(KeyError):
        client[""]
    with pytest.raises(TypeError):
        client[3]


def test_keys_views_slice_and_page(many):
    keys = many.keys()
    assert keys[2:5] == KEYS[2:5]
    assert keys[0] == "n000"
    assert keys[-2] == "n118"
    assert keys[-120] == "n000"
    assert keys[98:103] == KEYS[98:103]
    assert keys[115:] == KEYS[115:]
    assert keys[-3:] == KEYS[-3:]
    assert keys[-5:-2] == KEYS[-5:-2]
    assert keys[::40] == KEYS[::40]
    assert keys[5:2] == []
    assert keys.first() == "n000"
    assert keys.last() == "n119"
    assert keys.head(3) == KEYS[:3]
    assert keys.tail(3) == KEYS[-3:]
    assert len(keys) == 120
    assert "n001" in keys
    with pytest.raises(IndexError):
        keys[120]
    with pytest.raises(IndexError):
        keys[-121]


def test_items_and_values(many):
    items = many.items()[10:13]
    assert [k for k, _ in items] == KEYS[10:13]
    assert [v.metadata["i"] for _, v in items] == [10, 11, 12]
    assert many.values().first().key == "n000"
    assert many.values().last().metadata["i"] == 119
    assert [v.key for v in many.values()[-2:]] == KEYS[-2:]
    assert sum(1 for _ in many.items()) == 120


def test_empty_container_views(client):
    empty = client["many"].search(Key("i") > 1000)
    assert len(empty) == 0
    assert list(empty) == []
    with pytest.raises(IndexError):
        empty.keys().first()
    with pytest.raises(IndexError):
        empty.values().last()
    assert repr(empty) == "<Container {}>"


def test_repr(client, many):
    assert repr(many).startswith("<Container {'n000', 'n001',")
    assert repr(many).endswith(", ...} ~120 entries>")
    assert "'frames'" in repr(client)
    assert repr(many.keys()).startswith("<KeysView ['n000',")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (Key("color") == "red", KEYS[::3]),
        (Key("color") != "red", [k for i, k in enumerate(KEYS) if i % 3]),
        (Key("i") >= 117, KEYS[117:]),
        (Key("i") < 2, KEYS[:2]),
        (Eq("nested.n", 6), [k for i, k in enumerate(KEYS) if i % 7 == 6]),
        (NotEq("i", 0), KEYS[1:]),
        (Comparison("le", "i", 1), KEYS[:2]),
        (In("i", [3, 5]), ["n003", "n005"]),
        (NotIn("color", ["red", "green"]), KEYS[2::3]),
        (KeyLookup("n042"), ["n042"]),
        (KeysFilter(["n001", "n099"]), ["n001", "n099"]),
        (KeyPresent("nested.n"), KEYS),
        (KeyPresent("nope"), []),
        (Like("color", "gr%"), KEYS[1::3]),
        (Regex("color", "^(gr|bl)"), [k for i, k in enumerate(KEYS) if i % 3]),
        (Regex("color", "^RED$", case_sensitive=False), KEYS[::3]),
        (FullText("blue"), KEYS[2::3]),
        (Spec("Even"), KEYS[::2]),
        (StructureFamilyQuery("container"), KEYS),
    ],
)
def test_search(many, query, expected):
    assert list(many.search(query)) == expected


def test_search_in_root_by_family_and_contains(client):
    assert list(client.search(StructureFamilyQuery("table"))) == ["csv", "parquet", "parts"]
    assert list(client.search(Contains("nothing", 1))) == []


def test_chained_search_lookup_and_sort(many):
    hot = many.search(Key("color") == "red").search(Key("i") > 100)
    assert list(hot) == ["n102", "n105", "n108", "n111", "n114", "n117"]
    assert hot["n102"].metadata["i"] == 102
    assert "n101" not in hot
    with pytest.raises(KeyError):
        hot["n101"]
    assert len(hot) == 6
    assert hot.keys()[-1] == "n117"
    ordered = hot.sort(("i", -1))
    assert list(ordered) == ["n117", "n114", "n111", "n108", "n105", "n102"]
    assert ordered.keys()[-1] == "n102"
    assert ordered.keys().tail(2) == ["n105", "n102"]
    assert list(many) == KEYS  # views never change the original


def test_sort_multi_key(many):
    ordered = many.sort(("nested.n", 1), ("i", -1))
    assert ordered.keys().head(3) == ["n119", "n112", "n105"]
    assert ordered.keys().last() == "n006"
    with pytest.raises(ValueError, match="key, 1"):
        many.sort(("i", 2))


def test_search_rejects_non_queries(many):
    with pytest.raises(TypeError, match=r"tiled\.queries"):
        many.search({"color": "red"})


def test_distinct(many):
    result = many.distinct("color", structure_families=True, counts=True)
    colors = {entry["value"]: entry["count"] for entry in result["metadata"]["color"]}
    assert colors == {"red": 40, "green": 40, "blue": 40}
    assert [e["value"] for e in result["structure_families"]] == ["container"]
    red = many.search(Key("color") == "red").distinct("color")
    assert [e["value"] for e in red["metadata"]["color"]] == ["red"]


def test_structure_and_node_description(client, many):
    assert many.structure().count == 120
    assert many.structure_family == StructureFamily.container
    assert many.metadata == {"kind": "many"}
    assert many.uri.endswith("/api/v1/metadata/many")
    assert "application/json" in many.formats


def test_data_sources_fetched_on_demand(served):
    with served.client() as client:
        sources = client["frames"].data_sources()
        assert [(a.parameter, a.num) for a in sources[0].assets] == [
            ("data_uris", 0),
            ("data_uris", 1),
        ]
    transport = RecordingTransport()
    with served.client(include_data_sources=True, transport=transport) as client:
        node = client["frames"]
        before = len(transport.requests)
        assert node.data_sources()[0].mimetype == "multipart/related;type=image/tiff"
        assert len(transport.requests) == before
        assert all(v.data_sources() for v in client.values()[:2])


# -- writing (a fresh catalog per test) -----------------------------------------------


def test_new_registers_and_reads_back(fresh):
    d = fresh.data
    with fresh.client() as client:
        transport_paths = []
        source = array_source(
            "multipart/related;type=image/tiff",
            FRAMES,
            [d / "image1.tiff", d / "image2.tiff"],
            ((1, 1), (64,), (32,)),
        )
        node = client.new("array", [source], key="pair", metadata={"a": 1}, specs=["S"])
        transport_paths.append(node.uri)
        assert isinstance(node, ArrayClient)
        assert node.metadata == {"a": 1}
        assert [s.name for s in node.specs] == ["S"]
        assert numpy.array_equal(node.read(), FRAMES)
        assert node.data_sources()[0].assets[0].size > 0
        assert list(client) == ["pair"]
        unnamed = client.new("array", [source])
        assert len(unnamed.key) >= 32  # a server-chosen UUID
        assert numpy.array_equal(client[unnamed.key][1], FRAMES[1])


def test_create_container_and_nested_registration(fresh):
    with fresh.client() as client:
        run = client.create_container("run42", metadata={"operator": "ada"}, specs=["Run"])
        assert isinstance(run, Container)
        assert run.metadata["operator"] == "ada"
        inner = run.create_container("inner")
        assert inner.path == "run42/inner"
        source = array_source("image/tiff", FRAMES[0], [fresh.data / "image1.tiff"])
        run["inner"].new("array", [source], key="img")
        assert numpy.array_equal(client["run42/inner/img"][3:5], FRAMES[0, 3:5])
        assert len(client.create_container()) == 0  # server-chosen key


def test_collisions_are_409(fresh):
    with fresh.client() as client:
        client.create_container("c")
        with pytest.raises(ClientConflictError) as caught:
            client.create_container("c", metadata={"changed": True})
        assert caught.value.status_code == 409
        assert isinstance(caught.value, errors.ConflictError)
        assert client["c"].metadata == {}
        source = array_source("image/tiff", FRAMES[0], [fresh.data / "image1.tiff"])
        client.new("array", [source], key="img")
        with pytest.raises(errors.ConflictError, match="409: /img"):
            client.new("array", [source], key="img")


def test_outside_readable_is_403_and_writes_nothing(fresh, tmp_path):
    outside = tmp_path / "elsewhere.tiff"
    outside.write_bytes((fresh.data / "image1.tiff").read_bytes())
    with fresh.client() as client:
        source = array_source("image/tiff", FRAMES[0], [outside])
        with pytest.raises(ClientAccessDeniedError, match="403") as caught:
            client.new("array", [source], key="img")
        assert isinstance(caught.value, PermissionError)
        assert len(client) == 0


def test_malformed_registration_is_422_naming_the_field(fresh):
    with fresh.client() as client:
        source = array_source(
            "multipart/related;type=image/tiff",
            FRAMES,
            [fresh.data / "image1.tiff", fresh.data / "image2.tiff"],
            ((1, 1), (64,), (32,)),
        )
        for a in source.assets:
            a.parameter, a.num = "data_uris", 1  # two assets in one slot
        with pytest.raises(ClientValidationError) as caught:
            client.new("array", [source], key="img")
        assert caught.value.status_code == 422
        assert "body.data_sources.0.assets.1.num" in str(caught.value)
        assert caught.value.detail[0]["loc"][-1] == "num"
        assert isinstance(caught.value, ValueError)
        assert len(client) == 0


def test_unknown_mimetype_is_415(fresh):
    with fresh.client() as client:
        source = array_source("image/tiff", FRAMES[0], [fresh.data / "image1.tiff"])
        source.mimetype = "application/x-bogus"
        with pytest.raises(ClientUnsupportedMimetypeError, match="application/x-bogus"):
            client.new("array", [source])


def test_delete_and_delete_contents(fresh):
    with fresh.client() as client:
        for key in "abc":
            client.create_container(key).create_container("child")
        client.create_container("empty")
        client["empty"].delete()
        with pytest.raises(ClientConflictError, match="not empty"):
            client["a"].delete()
        client["a"].delete(recursive=True)
        assert list(client) == ["b", "c"]
        with pytest.raises(ClientConflictError):
            client.delete_contents("b")
        client.delete_contents("b", recursive=True)
        client["c"].delete_contents()
        assert list(client["c"]) == []
        client.create_container("d")
        client.delete_contents()
        assert len(client) == 0
        with pytest.raises(KeyError):
            client.delete_contents("missing")


def test_export_a_container_as_hdf5_and_json(client, tmp_path):
    import io
    import json

    import h5py

    from .conftest import H5_COUNTS

    client["h5"].export(tmp_path / "h5.h5")
    with h5py.File(tmp_path / "h5.h5", "r") as file:
        assert file["entry"].attrs["NX_class"] == "NXentry"  # the group's own attributes
        assert numpy.array_equal(file["entry/data/counts"][()], H5_COUNTS)
    buffer = io.BytesIO()
    client["many"].export(buffer, format="json", fields=["n001", "n002"])
    tree = json.loads(buffer.getvalue())
    assert tree["metadata"] == {"kind": "many"}
    assert sorted(tree["contents"]) == ["n001", "n002"]
    assert tree["contents"]["n001"]["metadata"]["color"] == "green"
    with pytest.raises(ValueError, match="h5"):
        client["many"].export(tmp_path / "many.gif")
