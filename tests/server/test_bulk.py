"""The bulk registration endpoints over real HTTP, on both databases: raw requests, as a
client other than ours would send them."""

import os

import httpx
import msgpack
import pytest

from tiled.testing.entries import write_csv, write_hdf5, write_tiff
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial

API_KEY = "secret"
AUTH = {"Authorization": f"Apikey {API_KEY}"}
MSGPACK = "application/x-msgpack"


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_tiff(data / "a.tiff", 1)
    write_tiff(data / "b.tiff", 2)
    write_csv(data / "t.csv")
    write_hdf5(data / "s.h5")
    (tmp_path / "outside").mkdir()
    write_tiff(tmp_path / "outside" / "secret.tiff", 3)
    return data


@pytest.fixture
def server(catalog_uri, data_dir):
    with run_server(catalog_uri, readable=[data_dir], api_key=API_KEY, max_bulk_changes=20) as url:
        yield url


def tiff_node(path):
    return {
        "structure_family": "array",
        "metadata": {"file": path.name},
        "specs": [],
        "data_sources": [
            {
                "structure_family": "array",
                "mimetype": "image/tiff",
                "structure": {
                    "data_type": {"endianness": "little", "kind": "u", "itemsize": 2},
                    "shape": [8, 8],
                    "chunks": [[8], [8]],
                    "dims": None,
                    "resizable": False,
                },
                "assets": [{"data_uri": path.as_uri(), "parameter": "data_uri"}],
            }
        ],
    }


def container_node(metadata=None):
    return {"structure_family": "container", "metadata": metadata or {}}


def put(key_path, node, replace=False):
    return {"op": "put", "key_path": key_path, "replace": replace, "node": node}


def post(server, changes, path="", headers=AUTH, msgpack_body=False):
    url = f"{server}/api/v1/bulk/register/{path}"
    if msgpack_body:
        body = msgpack.packb({"changes": changes})
        return httpx.post(url, content=body, headers={**headers, "Content-Type": MSGPACK})
    return httpx.post(url, json={"changes": changes}, headers=headers)


def listed(server, path="", accept=None):
    headers = {**AUTH, **({"Accept": accept} if accept else {})}
    response = httpx.get(f"{server}/api/v1/bulk/registered/{path}", headers=headers)
    assert response.status_code == 200, response.text
    if accept == MSGPACK:
        return list(msgpack.Unpacker(__import__("io").BytesIO(response.content), raw=False))
    import json

    return [json.loads(line) for line in response.text.splitlines()]


def test_bulk_create_replace_remove_and_list(server, data_dir):
    response = post(
        server,
        [
            put(["raw"], container_node({"kind": "dir"})),
            put(["raw", "a"], tiff_node(data_dir / "a.tiff")),
            put(["raw", "b"], tiff_node(data_dir / "b.tiff")),
        ],
        msgpack_body=True,
    )
    assert response.status_code == 200, response.text
    assert [o["ok"] for o in response.json()["outcomes"]] == [True, True, True]
    data = httpx.get(f"{server}/api/v1/array/full/raw/b", headers=AUTH)
    assert data.status_code == 200
    records = listed(server)
    assert [r["key_path"] for r in records] == [["raw"], ["raw", "a"], ["raw", "b"]]
    stat = os.stat(data_dir / "a.tiff")
    assert records[1]["fingerprint"] == [
        [(data_dir / "a.tiff").as_uri(), stat.st_size, stat.st_mtime_ns]
    ]
    assert records[0]["fingerprint"] == []
    assert listed(server, accept=MSGPACK) == records
    assert [r["key_path"] for r in listed(server, "raw")] == [["a"], ["b"]]
    # replace in place, below a prefix: a now points at b.tiff
    response = post(server, [put(["a"], tiff_node(data_dir / "b.tiff"), replace=True)], path="raw")
    assert response.json()["outcomes"][0]["ok"]
    replaced = {tuple(r["key_path"]): r for r in listed(server, "raw")}
    assert replaced[("a",)]["fingerprint"][0][0].endswith("b.tiff")
    response = post(server, [{"op": "remove", "key_path": ["raw"]}])
    assert response.json()["outcomes"] == [
        {"key_path": ["raw"], "ok": True, "status": None, "message": ""}
    ]
    assert listed(server) == []


def test_refusals_fail_alone_and_the_rest_commits(server, data_dir):
    outside = data_dir.parent / "outside" / "secret.tiff"
    unknown = tiff_node(data_dir / "a.tiff")
    unknown["data_sources"][0]["mimetype"] = "application/x-unknown"
    two_sources = tiff_node(data_dir / "a.tiff")
    two_sources["data_sources"] *= 2
    response = post(
        server,
        [
            put(["a"], tiff_node(data_dir / "a.tiff")),
            put(["secret"], tiff_node(outside)),
            put(["a"], tiff_node(data_dir / "b.tiff")),
            put(["missing"], tiff_node(data_dir / "missing.tiff")),
            put(["odd"], unknown),
            put(["two"], two_sources),
            put(["no", "parent"], tiff_node(data_dir / "b.tiff")),
            put(["b"], tiff_node(data_dir / "b.tiff")),
            {"op": "remove", "key_path": ["ghost"]},
        ],
    )
    assert response.status_code == 200, response.text
    outcomes = response.json()["outcomes"]
    assert [(o["ok"], o["status"]) for o in outcomes] == [
        (True, None),
        (False, 403),
        (False, 409),
        (False, 400),
        (False, 415),
        (False, 422),
        (False, 404),
        (True, None),
        (False, 404),
    ]
    assert "outside the readable directories" in outcomes[1]["message"]
    assert "already exists" in outcomes[2]["message"]
    assert "does not exist on the server" in outcomes[3]["message"]
    assert [r["key_path"] for r in listed(server)] == [["a"], ["b"]]


def test_malformed_bodies_and_limits(server, data_dir):
    bad = httpx.post(f"{server}/api/v1/bulk/register/", content=b"{nope", headers=AUTH)
    assert bad.status_code == 422
    wrong = post(server, [{"op": "rename", "key_path": ["x"]}])
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"][:3] == ["body", "changes", 0]
    empty_key_path = post(server, [{"op": "remove", "key_path": []}])
    assert empty_key_path.status_code == 422
    too_many = post(server, [put([f"k{i}"], container_node()) for i in range(21)])
    assert too_many.status_code == 413
    assert "limit is 20" in too_many.json()["detail"]
    assert listed(server) == []
    missing_prefix = post(server, [put(["x"], container_node())], path="nowhere")
    assert missing_prefix.status_code == 404
    assert "nowhere" in missing_prefix.json()["detail"]
    assert httpx.get(f"{server}/api/v1/bulk/registered/nowhere", headers=AUTH).status_code == 404


def test_body_size_limit_is_413(catalog_uri, data_dir):
    with run_server(catalog_uri, readable=[data_dir], max_request_bytes=2000) as url:
        changes = [put([f"k{i}"], container_node({"pad": "x" * 100})) for i in range(30)]
        response = post(url, changes)
        assert response.status_code == 413
        assert "2,000 bytes" in response.json()["detail"]


def test_authentication(server, data_dir):
    for headers, status in (({}, 401), ({"Authorization": "Apikey wrong"}, 401)):
        response = post(server, [put(["a"], container_node())], headers=headers)
        assert response.status_code == status
        listing = httpx.get(f"{server}/api/v1/bulk/registered/", headers=headers)
        assert listing.status_code == status
    assert listed(server) == []


def test_public_server_lists_without_key_but_does_not_register(catalog_uri, data_dir):
    with run_server(catalog_uri, readable=[data_dir], api_key=None) as url:
        response = post(url, [put(["a"], container_node())], headers={})
        assert response.status_code == 401
        assert httpx.get(f"{url}/api/v1/bulk/registered/").status_code == 200


def test_openapi_documents_the_bulk_endpoints(server):
    document = httpx.get(f"{server}/openapi.json").json()
    register = document["paths"]["/api/v1/bulk/register/{path}"]["post"]
    content = register["requestBody"]["content"]
    assert set(content) == {"application/json", MSGPACK}
    assert "changes" in content["application/json"]["schema"]["properties"]
    assert "/api/v1/bulk/registered/{path}" in document["paths"]


def test_mixed_formats_in_one_batch(server, data_dir):
    from tiled.registration.sinks.http import node_body
    from tiled.testing.entries import file_entry

    changes = [
        put(["t"], node_body(file_entry(("t",), [data_dir / "t.csv"], "text/csv"))),
        put(["s"], node_body(file_entry(("s",), [data_dir / "s.h5"], "application/x-hdf5"))),
        put(
            ["seq"],
            node_body(
                file_entry(
                    ("seq",),
                    [data_dir / "a.tiff", data_dir / "b.tiff"],
                    "multipart/related;type=image/tiff",
                )
            ),
        ),
    ]
    response = post(server, changes, msgpack_body=True)
    assert [o["ok"] for o in response.json()["outcomes"]] == [True, True, True], response.text
    seq = httpx.get(f"{server}/api/v1/array/full/seq", headers=AUTH)
    assert seq.status_code == 200
    families = {tuple(r["key_path"]): r["structure_family"] for r in listed(server)}
    assert families == {("s",): "container", ("seq",): "array", ("t",): "table"}
