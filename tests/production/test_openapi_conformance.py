"""Schemathesis against our own OpenAPI document: every operation, with an API key.

Bounded (a fixed number of examples per operation, derandomised) so that it runs in the
suite. Checks: no 5xx, and every response matches the schema the document declares for it.
"""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tiled.testing.bodies import registration_body
from tiled.testing.server import run_server

from ..server.conftest import API_KEY, tiff_pair_body

pytestmark = [pytest.mark.serial, pytest.mark.slow]

AUTH = {"Authorization": f"Apikey {API_KEY}"}
EXAMPLES = 25


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def served(request, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    import numpy
    import tifffile

    frames = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(data / f"image{i}.tiff", frame)
    (data / "table.csv").write_text("a,b,c\n1,2.5,x\n3,4.5,y\n")
    import h5py

    with h5py.File(data / "tree.h5", "w") as file:
        file["g/x"] = numpy.arange(10.0)
        file["g"].attrs["units"] = "mm"
        file["y"] = numpy.ones((4, 5), dtype="int16")
    if request.param == "sqlite":
        import asyncio

        from tiled.catalog.database import initialize_database

        uri = str(tmp_path_factory.mktemp("catalog") / "catalog.db")
        asyncio.run(initialize_database(uri))
        yield from _serve(uri, data)
    else:
        template = request.getfixturevalue("postgres_template")
        from tiled.testing.databases import fresh_database

        with fresh_database(template) as uri:
            yield from _serve(uri, data)


def _serve(uri, data):
    with run_server(uri, readable=[data], api_key=API_KEY) as url:
        with httpx.Client(base_url=f"{url}/api/v1", headers=AUTH) as http:
            assert http.post("/register/", json=tiff_pair_body(data)).status_code == 200
            body = {"id": "c", "structure_family": "container", "metadata": {"a": 1}, "specs": []}
            assert http.post("/metadata/", json=body).status_code == 200
            for key, name, mimetype in [("t", "table.csv", "text/csv"),
                                        ("h", "tree.h5", "application/x-hdf5")]:  # fmt: skip
                registered = http.post(
                    "/register/", json=registration_body(key, data / name, mimetype)
                )
                assert registered.status_code == 200, registered.text
        yield url


@pytest.fixture(scope="module")
def api_schema(served):
    return schemathesis.openapi.from_url(f"{served}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate(
        headers=AUTH,
        checks=[not_a_server_error, response_schema_conformance],
    )


# The read routes parse their query strings themselves; the document declares those
# parameters (tiled/server/openapi.py) but schemathesis fuzzes values within the declared
# schemas and on random paths; this also sends malformed values, on nodes that exist.
ROUTES = ["metadata", "search", "distinct", "array/full", "array/block", "table/full",
          "table/partition", "revisions", "container/full"]  # fmt: skip
NODES = ["", "pair", "c", "t", "t/a", "t/c", "h", "h/g", "h/g/x", "h/y", "pair/x", "c/missing"]
PARAMS = ["fields", "page[offset]", "page[limit]", "slice", "block", "format", "sort",
          "expected_shape", "select_metadata", "include_data_sources", "partition", "column",
          "metadata", "structure_families", "specs", "counts", "filename", "root_path", "field",
          "filter[eq][condition][key]", "filter[eq][condition][value]",
          "filter[fulltext][condition][text]", "filter[regex][condition][pattern]",
          "filter[comparison][condition][operator]", "filter[comparison][condition][value]",
          "filter[lookup][condition][key]", "filter[specs][condition][include]"]  # fmt: skip
PLAUSIBLE = ["0", "1", "-1", "0,0,0", "1,0,0", "9,9,9", ":", "0:1", "::2", "0:1,:,5", "2,64,32",
             "json", "application/json", "application/octet-stream", "text/csv", "image/png",
             "-sample", "sample", "true", "false", "null", '"Ni"', "[1,2]", "{}", "a.b",
             "ge", "lt", "(", "[", "999999999999999999999", "1e308", "nan", "\u00e9", "%00",
             "structure_family", "metadata,structure", "count", "h5", "g", "y"]  # fmt: skip


def _query_strategy():
    from hypothesis import strategies as st

    value = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=12))
    return st.tuples(
        st.sampled_from(ROUTES),
        st.sampled_from(NODES),
        st.lists(st.tuples(st.sampled_from(PARAMS), value), max_size=4),
    )


def test_query_parameters_never_cause_server_errors(served):
    from hypothesis import given

    with httpx.Client(base_url=f"{served}/api/v1", headers=AUTH, timeout=30) as http:

        @given(_query_strategy())
        @settings(max_examples=400, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(request):
            route, node, params = request
            try:
                response = http.get(f"/{route}/{node}", params=params)
            except httpx.TransportError as err:
                raise AssertionError(f"{route}/{node} {params}: {err!r}") from err
            assert response.status_code < 500, (route, node, params, response.text[:500])

        check()
