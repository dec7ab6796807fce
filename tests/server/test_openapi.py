"""The OpenAPI document declares the query parameters the routes parse by hand, is a
valid OpenAPI document, and declaring them changed nothing about how requests are
answered."""

import httpx
import numpy
import pytest

from tiled.testing.served import registration_body
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial
HEADERS = {"Authorization": "Apikey secret"}

EXPECTED = {
    ("get", "/api/v1/array/full/{path}"): {"slice", "expected_shape", "format", "filename"},
    ("get", "/api/v1/array/block/{path}"): {"block", "slice", "expected_shape", "format"},
    ("get", "/api/v1/table/partition/{path}"): {"partition", "column", "field", "format"},
    ("post", "/api/v1/table/full/{path}"): {"column", "field", "format", "filename"},
    ("get", "/api/v1/container/full/{path}"): {"field", "format", "filename"},
    ("get", "/api/v1/metadata/{path}"): {"fields", "include_data_sources", "select_metadata"},
    ("get", "/api/v1/search/{path}"): {
        "page[offset]",
        "page[limit]",
        "page[cursor]",
        "fields",
        "sort",
        "filter",
        "include_data_sources",
        "select_metadata",
    },
    ("get", "/api/v1/distinct/{path}"): {"metadata", "counts", "specs", "filter"},
    ("get", "/api/v1/revisions/{path}"): {"page[offset]", "page[limit]"},
    ("delete", "/api/v1/metadata/{path}"): {"recursive"},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("openapi")
    numpy.save(root / "ramp.npy", numpy.arange(12).reshape(3, 4))
    with (
        run_server(str(root / "catalog.db"), readable=[root]) as url,
        httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http,
    ):
        body = registration_body("ramp", "application/x-npy", [root / "ramp.npy"])
        assert http.post("/api/v1/register/", json=body).status_code == 200
        yield http


def test_read_routes_declare_their_query_parameters(served):
    document = served.get("/openapi.json").json()
    for (method, path), names in EXPECTED.items():
        operation = document["paths"][path][method]
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert names <= declared, (method, path, names - declared)
    search = document["paths"]["/api/v1/search/{path}"]["get"]["parameters"]
    (page_limit,) = [p for p in search if p["name"] == "page[limit]"]
    assert page_limit["schema"]["maximum"] == 300
    block = document["paths"]["/api/v1/array/block/{path}"]["get"]["parameters"]
    assert next(p for p in block if p["name"] == "block")["required"] is True
    table_post = document["paths"]["/api/v1/table/full/{path}"]["post"]
    assert "application/json" in table_post["requestBody"]["content"]


def test_the_document_is_valid_openapi(served):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(served.get("/openapi.json").json())


def test_parsing_is_unchanged(served):
    """Malformed values still get this server's own 422s and messages (declared schemas are
    not enforced by FastAPI), and well-formed ones still work."""
    bad_slice = served.get("/api/v1/array/full/ramp", params={"slice": "a"})
    assert bad_slice.status_code == 422
    assert bad_slice.json()["detail"][0]["loc"] == ["query", "slice"]
    big_page = served.get("/api/v1/search/", params={"page[limit]": "301"})
    assert big_page.status_code == 422
    assert "at most 300" in big_page.json()["detail"][0]["msg"]
    ok = served.get("/api/v1/array/full/ramp", params={"slice": "1:3,::2"})
    assert numpy.frombuffer(ok.content, "<i8").tolist() == [4, 6, 8, 10]
    no_block = served.get("/api/v1/array/block/ramp")
    assert no_block.status_code == 422
    assert "block is required" in no_block.json()["detail"][0]["msg"]
