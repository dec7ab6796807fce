"""The v1 wire contract, checked with plain HTTP (what any client sees)."""

import httpx
import msgpack
import numpy
import pytest

from .conftest import API_KEY, tiff_pair_body

AUTH = {"Authorization": f"Apikey {API_KEY}"}


@pytest.fixture
def http(server):
    with httpx.Client(base_url=f"{server}/api/v1", headers=AUTH) as client:
        yield client


@pytest.fixture
def populated(http, data_dir):
    assert http.post("/register/", json=tiff_pair_body(data_dir)).status_code == 200
    for i in range(7):
        body = {
            "id": f"c{i}",
            "structure_family": "container",
            "metadata": {"i": i, "color": "red" if i % 2 else "blue", "nested": {"n": 10 - i}},
            "specs": [{"name": "even", "version": None}] if i % 2 == 0 else [],
        }
        assert http.post("/metadata/", json=body).status_code == 200, body
    return http


def test_root_document_has_every_key(http):
    about = http.get("/", headers={"Accept": "application/x-msgpack"})
    assert about.headers["content-type"] == "application/x-msgpack"
    doc = msgpack.unpackb(about.content)
    assert set(doc) == {
        "api_version",
        "library_version",
        "formats",
        "aliases",
        "queries",
        "authentication",
        "links",
        "meta",
    }
    assert doc["authentication"] == {"required": True, "providers": [], "links": None}
    assert "application/octet-stream" in doc["formats"]["array"]
    assert "eq" in doc["queries"]
    major, minor, *_ = (int(p) for p in doc["library_version"].split(".")[:2])
    assert (major, minor) >= (0, 2)


def test_root_document_is_anonymous_and_health(server):
    assert httpx.get(f"{server}/api/v1/").status_code == 200
    assert httpx.get(f"{server}/healthz").json() == {"status": "ready"}


def test_json_content_type_is_exact(populated):
    response = populated.get("/metadata/pair")
    assert response.headers["content-type"] == "application/json"
    data = response.json()["data"]
    assert data["id"] == "pair"
    assert data["attributes"]["ancestors"] == []
    assert data["attributes"]["structure"]["dims"] == ["time", "x", "y"]
    assert set(data["links"]) == {"self", "full", "block"}


def test_empty_path_segments_are_ignored(populated):
    assert populated.get("/metadata//c1").json()["data"]["id"] == "c1"


def test_missing_node_404_names_path(http):
    response = http.get("/metadata/does/not/exist")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such entry: ['does', 'not', 'exist']"}


def test_search_paging_counts_and_ids_only(populated):
    page = populated.get("/search/", params={"page[limit]": 3, "fields": ""}).json()
    assert page["meta"]["count"] == 8
    assert [d["id"] for d in page["data"]] == ["pair", "c0", "c1"]
    assert page["data"][0]["attributes"]["metadata"] is None
    assert set(page["data"][0]["links"]) == {"self"}
    following = populated.get(page["links"]["next"]).json()
    assert [d["id"] for d in following["data"]] == ["c2", "c3", "c4"]
    count_only = populated.get("/search/", params={"fields": "count"}).json()
    assert count_only["data"] == []
    assert count_only["meta"]["count"] == 8


def test_search_sort_and_reverse_default(populated):
    last = populated.get("/search/", params={"sort": "-", "page[limit]": 1, "fields": ""})
    assert last.json()["data"][0]["id"] == "c6"
    by_nested = populated.get(
        "/search/",
        params=[
            ("sort", "-nested.n"),
            ("filter[structure_family][condition][value]", "container"),
            ("fields", ""),
        ],
    ).json()
    assert [d["id"] for d in by_nested["data"]] == [f"c{i}" for i in range(7)]


def test_search_filters(populated):
    params = [
        ("filter[eq][condition][key]", "color"),
        ("filter[eq][condition][value]", '"red"'),
        ("filter[comparison][condition][operator]", "gt"),
        ("filter[comparison][condition][key]", "i"),
        ("filter[comparison][condition][value]", "2"),
    ]
    found = populated.get("/search/", params=params).json()
    assert [d["id"] for d in found["data"]] == ["c3", "c5"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page[limit]": 301}, 422),
        ({"page[offset]": 1, "page[cursor]": 2}, 400),
        ({"fields": "nonsense"}, 422),
        ({"sort": ["i", "-i"]}, 400),
        ({"filter[eq][condition][key]": "i", "filter[eq][condition][value]": "red"}, 400),
        ({"filter[regex][condition][key]": "i", "filter[regex][condition][pattern]": "("}, 400),
    ],
)
def test_bad_search_requests_are_4xx(populated, params, status):
    assert populated.get("/search/", params=params).status_code == status


def test_search_on_array_is_404(populated):
    response = populated.get("/search/pair")
    assert response.status_code == 404
    assert "array" in response.json()["detail"]


EXPECTED = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"block": "1,0,0"}, EXPECTED[1:2]),
        ({"block": "0,0,0", "slice": "0,::2,-1"}, EXPECTED[0, ::2, -1]),
    ],
)
def test_block_reads(populated, params, expected):
    response = populated.get("/array/block/pair", params=params)
    assert response.status_code == 200, response.text
    got = numpy.frombuffer(response.content, "<i4").reshape(expected.shape)
    assert numpy.array_equal(got, expected)


@pytest.mark.parametrize(
    ("route", "params", "status"),
    [
        ("full", {"slice": "5"}, 400),
        ("full", {"slice": "0;1"}, 422),
        ("full", {"slice": "0", "expected_shape": "1,2"}, 400),
        ("full", {"slice": "::0"}, 400),
        ("block", {"block": "2,0,0"}, 422),
        ("block", {"block": "0,0"}, 422),
        ("block", {}, 422),
    ],
)
def test_bad_array_requests_are_4xx(populated, route, params, status):
    response = populated.get(f"/array/{route}/pair", params=params)
    assert response.status_code == status, response.text


def test_json_and_unsupported_formats(populated):
    as_json = populated.get("/array/full/pair", params={"slice": "0,0:2,0:2", "format": "json"})
    assert as_json.json() == EXPECTED[0, 0:2, 0:2].tolist()
    refused = populated.get("/array/full/pair", headers={"Accept": "image/gif"})
    assert refused.status_code == 406


def test_array_route_on_container_is_404(populated):
    assert populated.get("/array/full/c1").status_code == 404


def test_create_collision_and_delete_rules(populated):
    body = {"id": "c1", "structure_family": "container", "metadata": {}, "specs": []}
    assert populated.post("/metadata/", json=body).status_code == 409
    inner = {"id": "inner", "structure_family": "container", "metadata": {}, "specs": []}
    assert populated.post("/metadata/c1", json=inner).status_code == 200
    refused = populated.delete("/metadata/c1", params={"recursive": "false"})
    assert refused.status_code == 409
    assert "not empty" in refused.json()["detail"]
    assert populated.delete("/metadata/c1", params={"recursive": "true"}).status_code == 200
    assert populated.get("/metadata/c1/inner").status_code == 404
    assert populated.delete("/metadata//nope").status_code == 404


def test_patch_put_and_revisions(populated):
    patch = {
        "content-type": "application/json-patch+json",
        "metadata": [{"op": "replace", "path": "/color", "value": "green"}],
        "specs": None,
        "access_tags": None,
    }
    response = populated.patch("/metadata/c1", json=patch)
    assert response.status_code == 200, response.text
    merge = {
        "content-type": "application/merge-patch+json",
        "metadata": {"color": None, "added": 1},
        "specs": None,
        "access_tags": None,
    }
    assert populated.patch("/metadata/c1", json=merge).status_code == 200
    node = populated.get("/metadata/c1").json()["data"]["attributes"]
    assert node["metadata"] == {"i": 1, "nested": {"n": 9}, "added": 1}
    put = {"metadata": {"replaced": True}, "specs": ["S"], "access_tags": None}
    assert populated.put("/metadata/c1", json=put).status_code == 200
    node = populated.get("/metadata/c1").json()["data"]["attributes"]
    assert node["metadata"] == {"replaced": True}
    assert node["specs"] == [{"name": "S", "version": None}]
    revisions = populated.get("/revisions/c1").json()
    assert revisions["meta"]["count"] == 3
    bad = dict(patch, metadata=[{"op": "remove", "path": "/nope"}])
    assert populated.patch("/metadata/c1", json=bad).status_code == 400
    no_specs = {"content-type": "application/json-patch+json", "metadata": []}
    assert populated.patch("/metadata/c1", json=no_specs).status_code == 422


def test_revision_times_are_msgpack_timestamps_and_utc_iso(populated):
    # The official client decodes msgpack Timestamps into aware datetimes, as Tiled sends
    # them; in JSON they are ISO 8601 with an offset.
    from datetime import UTC, datetime, timedelta

    patch = {"content-type": "application/merge-patch+json", "metadata": {"x": 1}, "specs": None}
    assert populated.patch("/metadata/c2", json=patch).status_code == 200
    packed = populated.get("/revisions/c2", headers={"Accept": "application/x-msgpack"})
    (item,) = msgpack.unpackb(packed.content, timestamp=3)["data"]
    when = item["attributes"]["time_updated"]
    assert isinstance(when, datetime)
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=5)
    text = populated.get("/revisions/c2").json()["data"][0]["attributes"]["time_updated"]
    assert datetime.fromisoformat(text) == when
    assert datetime.fromisoformat(text).utcoffset() == timedelta(0)
