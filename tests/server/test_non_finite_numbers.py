"""NaN and Infinity in a request body are not JSON: every write route refuses them with a
422 that says where, stores nothing, and never answers 500 (on both catalog dialects)."""

import httpx
import numpy
import pytest

from tiled.testing.served import registration_body
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial
HEADERS = {"Authorization": "Apikey secret", "Content-Type": "application/json"}


@pytest.fixture
def http(catalog_uri, tmp_path):
    numpy.save(tmp_path / "a.npy", numpy.arange(3))
    with (
        run_server(catalog_uri, readable=[tmp_path]) as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=HEADERS, timeout=60) as client,
    ):
        created = client.post(
            "/metadata/",
            json={"id": "kept", "structure_family": "container", "metadata": {"x": 1}},
        )
        assert created.status_code == 200, created.text
        yield client


def refused(response, loc, label):
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc
    assert label in error["msg"]
    assert "null" in error["msg"]


def test_create_with_nan_or_infinity_is_422_and_stores_nothing(http):
    body = b'{"id":"bad","structure_family":"container","metadata":{"a":{"b":[1,NaN]}}}'
    refused(http.post("/metadata/", content=body), ["body", "metadata", "a", "b", 1], "NaN")
    huge = b'{"id":"bad","structure_family":"container","metadata":{"a":1e400}}'
    refused(http.post("/metadata/", content=huge), ["body", "metadata", "a"], "Infinity")
    assert http.get("/metadata/bad").status_code == 404


def test_registration_with_non_finite_metadata_is_422(http, tmp_path):
    body = registration_body("a", "application/x-npy", [tmp_path / "a.npy"])
    text = httpx.Request("POST", "http://x", json=body).content.decode()
    text = text.replace('"metadata":{}', '"metadata":{"gain":-Infinity}', 1)
    assert "-Infinity" in text
    refused(http.post("/register/", content=text), ["body", "metadata", "gain"], "-Infinity")
    assert http.get("/metadata/a").status_code == 404
    assert http.post("/register/", json=body).status_code == 200  # the same, finite, is fine


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            b'{"content-type":"application/merge-patch+json","metadata":{"a":Infinity},'
            b'"specs":null}',
            ["body", "metadata", "a"],
        ),
        (
            b'{"content-type":"application/json-patch+json",'
            b'"metadata":[{"op":"add","path":"/b","value":NaN}],"specs":null}',
            ["body", "metadata", 0, "value"],
        ),
    ],
)
def test_patch_with_non_finite_values_is_422_and_changes_nothing(http, body, loc):
    refused(http.patch("/metadata/kept", content=body), loc, "")
    assert http.get("/metadata/kept").json()["data"]["attributes"]["metadata"] == {"x": 1}


def test_replace_with_nan_is_422(http):
    refused(
        http.put("/metadata/kept", content=b'{"metadata":{"a":NaN}}'),
        ["body", "metadata", "a"],
        "NaN",
    )
    assert http.get("/metadata/kept").json()["data"]["attributes"]["metadata"] == {"x": 1}
