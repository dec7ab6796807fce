"""Registration refuses what it must, with the right status, and writes nothing then."""

import os

import httpx
import numpy
import pytest

from .conftest import API_KEY, tiff_pair_body

AUTH = {"Authorization": f"Apikey {API_KEY}"}


def count_children(server):
    response = httpx.get(f"{server}/api/v1/search/", params={"fields": "count"}, headers=AUTH)
    assert response.status_code == 200
    return response.json()["meta"]["count"]


def register(server, body, headers=AUTH, path=""):
    return httpx.post(f"{server}/api/v1/register/{path}", json=body, headers=headers)


def test_register_and_read_back(server, data_dir):
    response = register(server, tiff_pair_body(data_dir))
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["id"] == "pair"
    assert created["links"]["block"].endswith("/api/v1/array/block/pair?block={0},{1},{2}")
    assert all(a["id"] is not None and a["size"] > 0 for a in created["data_sources"][0]["assets"])
    body = httpx.get(f"{server}/api/v1/array/full/pair", headers=AUTH)
    assert body.status_code == 200
    expected = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)
    assert numpy.array_equal(numpy.frombuffer(body.content, "<i4").reshape(2, 64, 32), expected)
    part = httpx.get(
        f"{server}/api/v1/array/full/pair",
        params={"slice": "1,10:20:1", "expected_shape": "10,32"},
        headers=AUTH,
    )
    assert part.status_code == 200, part.text
    assert numpy.array_equal(
        numpy.frombuffer(part.content, "<i4").reshape(10, 32), expected[1, 10:20]
    )


@pytest.mark.parametrize(
    "uri",
    [
        "{outside}/secret.tiff",
        "{data}/../outside/secret.tiff",
        "{data}/%2E%2E/outside/secret.tiff",
        "{data}/link-out.tiff",
        "/etc/passwd",
    ],
    ids=["direct", "dotdot", "percent-dotdot", "symlink-out", "etc-passwd"],
)
def test_assets_outside_readable_directories_are_refused(server, data_dir, uri):
    outside = data_dir.parent / "outside"
    os.symlink(outside / "secret.tiff", data_dir / "link-out.tiff")
    path = uri.format(outside=outside, data=data_dir)
    body = tiff_pair_body(data_dir, names=("image1.tiff", f"file://{path}"))
    before = count_children(server)
    response = register(server, body)
    assert response.status_code == 403, response.text
    assert "outside the readable directories" in response.json()["detail"]
    assert count_children(server) == before


def test_remote_host_uri_is_refused(server, data_dir):
    body = tiff_pair_body(
        data_dir, names=("image1.tiff", f"file://evil.example{data_dir}/image2.tiff")
    )
    response = register(server, body)
    assert response.status_code == 403
    assert count_children(server) == 0


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "Not enough permissions"), ({"Authorization": "Apikey wrong"}, "Invalid API key")],
)
def test_registration_needs_the_right_key(server, data_dir, headers, detail):
    response = register(server, tiff_pair_body(data_dir), headers=headers)
    assert response.status_code == 401
    assert detail in response.json()["detail"]
    assert count_children(server) == 0


def test_duplicate_key_conflicts_and_changes_nothing(server, data_dir):
    assert register(server, tiff_pair_body(data_dir)).status_code == 200
    again = tiff_pair_body(data_dir)
    again["metadata"] = {"changed": True}
    response = register(server, again)
    assert response.status_code == 409
    assert response.json()["detail"] == "/pair"
    node = httpx.get(f"{server}/api/v1/metadata/pair", headers=AUTH).json()
    assert node["data"]["attributes"]["metadata"] == {"sample": "Ni"}


@pytest.mark.parametrize(
    ("mutate", "loc_tail"),
    [
        (lambda b: b["data_sources"][0].pop("structure_family"), "structure_family"),
        (lambda b: b["data_sources"][0]["structure"].update(shape="bad"), "structure"),
        (lambda b: b["data_sources"][0]["assets"][0].pop("data_uri"), "data_uri"),
        (lambda b: b["data_sources"][0].update(bogus=1), "bogus"),
        (lambda b: b.update(structure_family="not-a-family"), "structure_family"),
        (lambda b: b["data_sources"][0]["structure"].update(chunks=[[1], [64], [32]]), "structure"),
    ],
)
def test_malformed_bodies_name_the_field(server, data_dir, mutate, loc_tail):
    body = tiff_pair_body(data_dir)
    mutate(body)
    response = register(server, body)
    assert response.status_code == 422, response.text
    locs = [entry["loc"] for entry in response.json()["detail"]]
    assert any(loc_tail in map(str, loc) for loc in locs), locs
    assert count_children(server) == 0


def test_unknown_mimetype_is_415(server, data_dir):
    body = tiff_pair_body(data_dir)
    body["data_sources"][0]["mimetype"] = "application/x-bogus"
    response = register(server, body)
    assert response.status_code == 415
    assert "application/x-bogus" in response.json()["detail"]


def test_missing_file_is_400_and_missing_parent_404(server, data_dir):
    response = register(server, tiff_pair_body(data_dir, names=("image1.tiff", "nope.tiff")))
    assert response.status_code == 400
    assert "does not exist" in response.json()["detail"]
    response = register(server, tiff_pair_body(data_dir), path="no/such/parent")
    assert response.status_code == 404


def test_not_json_body_is_422(server):
    response = httpx.post(
        f"{server}/api/v1/register/",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
