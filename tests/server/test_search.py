"""Search over real HTTP, on both databases: every query type, paging as the official
client pages (following links.next verbatim, re-adding its own params), and errors."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tiled import queries as q
from tiled.queries import encode_query
from tiled.testing.server import run_server

from ..catalog.search_data import CASES, MANY, case_id, expected, populated_catalog
from .conftest import API_KEY, tiff_pair_body

AUTH = {"Authorization": f"Apikey {API_KEY}"}
MANY_KEYS = list(MANY)


@pytest.fixture(scope="module")
def http(module_catalog_uri, tmp_path_factory):
    with populated_catalog(module_catalog_uri):
        pass
    data_dir = tmp_path_factory.mktemp("data")
    _write_tiffs(data_dir)
    with (
        run_server(module_catalog_uri, readable=[data_dir], api_key=API_KEY) as url,
        httpx.Client(base_url=f"{url}/api/v1", headers=AUTH, timeout=30) as client,
    ):
        container = {"id": "arrays", "structure_family": "container", "metadata": {}, "specs": []}
        assert client.post("/metadata/", json=container).status_code == 200
        sub = {"id": "sub", "structure_family": "container", "metadata": {}, "specs": []}
        assert client.post("/metadata/arrays", json=sub).status_code == 200
        assert client.post("/register/arrays", json=tiff_pair_body(data_dir)).status_code == 200
        yield client


def _write_tiffs(directory):
    import numpy
    import tifffile

    frames = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(directory / f"image{i}.tiff", frame)


def ids(response):
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def follow(client, url, params):
    """What the official client does: GET, then GET links.next with its params merged."""
    keys = []
    while url:
        page = client.get(httpx.URL(url).copy_merge_params(params))
        keys += ids(page)
        url = page.json()["links"]["next"]
    return keys


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_query_over_http(http, case):
    query, container = case
    want = expected(query, container)
    params = [*encode_query(query), ("fields", ""), ("page[limit]", "300")]
    response = http.get(f"/search/{container}", params=params)
    assert ids(response) == want
    assert response.json()["meta"]["count"] == len(want)
    counted = http.get(f"/search/{container}", params=[*encode_query(query), ("fields", "count")])
    assert counted.json() == {
        "data": [],
        "error": None,
        "links": counted.json()["links"],
        "meta": {"count": len(want)},
    }


def test_structure_family_and_specs_on_real_arrays(http):
    family = encode_query(q.StructureFamilyQuery("array"))
    assert ids(http.get("/search/arrays", params=family)) == ["pair"]
    family = encode_query(q.StructureFamilyQuery("container"))
    assert ids(http.get("/search/arrays", params=family)) == ["sub"]
    sample = encode_query(q.Eq("sample", "Ni"))
    assert ids(http.get("/search/arrays", params=sample)) == ["pair"]


def test_chained_searches_and_the_capture(http):
    params = encode_query(q.Key("color") == "red") + encode_query(q.Key("i") < 10)
    assert ids(http.get("/search/many", params=[*params, ("fields", "")])) == [
        "n000",
        "n003",
        "n006",
        "n009",
    ]


def test_lookup_inside_search_results(http):
    # node.search(Key("color") == "red")["n003"] -> lookup plus the search's filters
    red = encode_query(q.Key("color") == "red")
    found = http.get("/search/many", params=[*red, *encode_query(q.KeyLookup("n003"))])
    assert ids(found) == ["n003"]
    missing = http.get("/search/many", params=[*red, *encode_query(q.KeyLookup("n001"))])
    assert ids(missing) == []


def test_nested_containers_search_their_own_children(http):
    red = encode_query(q.Eq("color", "red"))
    assert ids(http.get("/search/tree", params=red)) == ["a"]
    assert ids(http.get("/search/tree/a", params=red)) == ["a1"]
    assert ids(http.get("/search//tree//a", params=red)) == ["a1"]


@pytest.mark.parametrize(
    ("sort", "want"),
    [
        ([], MANY_KEYS),
        (["-"], MANY_KEYS[::-1]),
        (["-i"], MANY_KEYS[::-1]),
        (["i"], MANY_KEYS),
        (["sample.name"], sorted(MANY_KEYS, key=lambda k: (MANY[k]["sample"]["name"], k))),
    ],
    ids=str,
)
def test_following_next_links_lists_everything_once(http, sort, want):
    params = [("fields", ""), *[("sort", s) for s in sort]]
    assert follow(http, "/search/many?page[limit]=7", params) == want
    first = http.get("/search/many?page[limit]=7", params=params).json()["links"]
    query = parse_qs(urlsplit(first["next"]).query)
    assert set(query) == {"page[cursor]", "page[limit]"}  # filters and sort are not in it
    assert first["next"].startswith("http://127.0.0.1")


def test_filters_are_re_added_by_the_client_on_every_page(http):
    params = [*encode_query(q.Eq("color", "blue")), ("fields", ""), ("sort", "-i")]
    want = [k for k in MANY_KEYS[::-1] if MANY[k]["color"] == "blue"]
    assert follow(http, "/search/many?page[limit]=6", params) == want


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("page[offset]=2&page[limit]=3&fields=", ["n002", "n003", "n004"]),
        ("page[offset]=0&page[limit]=1&fields=&sort=-", ["n119"]),
        ("page[offset]=1&page[limit]=1&fields=&sort=-", ["n118"]),
        ("page[offset]=0&page[limit]=3&fields=&sort=-", ["n119", "n118", "n117"]),
        ("page[offset]=110&page[limit]=5&fields=", [f"n{i}" for i in range(110, 115)]),
        ("page[offset]=10&page[limit]=3", ["n010", "n011", "n012"]),
        ("page[offset]=0&page[limit]=3&fields=&sort=i", ["n000", "n001", "n002"]),
        ("page[offset]=3&page[limit]=2&fields=&sort=-i", ["n116", "n115"]),
        ("page[offset]=0&page[limit]=3&fields=&sort=color&sort=-i", ["n119", "n116", "n113"]),
    ],
)
def test_the_captured_client_requests(http, query, want):
    response = http.get(f"/search/many?{query}")
    assert ids(response) == want
    body = response.json()
    assert body["meta"]["count"] == 120
    assert set(body["links"]) == {"self", "first", "next"}


def test_offset_slices_then_cursor_continue(http):
    # keys()[100:] : the first request has an offset, the rest follow links.next
    assert (
        follow(http, "/search/many?page[offset]=100&page[limit]=7", [("fields", "")])
        == (MANY_KEYS[100:])
    )


def test_count_links_like_tiled(http):
    body = http.get("/search/many", params={"fields": "count"}).json()
    assert body["meta"]["count"] == 120
    assert body["links"]["next"].endswith("/search/many?page[offset]=100&page[limit]=100")


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"filter[bogus][condition][x]": "1"}, 400, "Unknown query type 'bogus'"),
        (
            {"filter[eq][condition][key]": "color", "filter[eq][condition][value]": "red"},
            400,
            "must be JSON",
        ),
        (
            {"filter[regex][condition][key]": "a", "filter[regex][condition][pattern]": "("},
            400,
            "does not compile",
        ),
        (
            {
                "filter[comparison][condition][operator]": "between",
                "filter[comparison][condition][key]": "i",
                "filter[comparison][condition][value]": "1",
            },
            400,
            "operator must be one of",
        ),
        ({"filter[structure_family][condition][value]": "tree"}, 400, "choose from"),
        ({"filter[fulltext][condition][text]": "?!"}, 400, "at least one word"),
        (
            {"filter[eq][condition][key]": "a..b", "filter[eq][condition][value]": "1"},
            400,
            "dotted",
        ),
        ({"sort": ["i", "-i"]}, 400, "Duplicate sorting key: i"),
        ({"sort": "a..b"}, 400, "dotted"),
        ({"page[cursor]": "nonsense"}, 400, "not a cursor of this listing"),
        (
            {"page[cursor]": "abc", "page[offset]": "1"},
            400,
            "Cannot specify both page[cursor] and page[offset]",
        ),
        ({"page[limit]": "301"}, 422, "at most 300"),
        ({"page[offset]": "-1"}, 422, "must not be negative"),
    ],
)
def test_bad_searches_say_why(http, params, status, reason):
    response = http.get("/search/many", params=params)
    assert response.status_code == status, response.text
    assert reason in str(response.json()["detail"])


def test_a_cursor_from_another_sort_is_refused(http):
    next_url = http.get("/search/many?page[limit]=2&sort=-i").json()["links"]["next"]
    response = http.get(httpx.URL(next_url).copy_merge_params({"sort": "i"}))
    assert response.status_code == 400
    assert "same sort" in response.json()["detail"]


def test_regex_syntax_is_the_databases(http, module_catalog_uri):
    # A Python named group is not POSIX: PostgreSQL refuses it with a reason, not a 500.
    params = encode_query(q.Regex("sample.name", "^(?P<el>Ni)8$"))
    response = http.get("/search/many", params=params)
    if "postgresql" in module_catalog_uri:
        assert response.status_code == 400
        assert "regular expression" in response.json()["detail"]
    else:
        assert ids(response) == ["n008"]


def test_distinct(http):
    body = http.get(
        "/distinct/many", params={"metadata": "color", "counts": "true", "specs": "true"}
    ).json()
    assert body["metadata"]["color"] == [
        {"value": "blue", "count": 40},
        {"value": "green", "count": 40},
        {"value": "red", "count": 40},
    ]
    assert body["structure_families"] is None
    assert len(body["specs"]) == 2
    red = http.get(
        "/distinct/many",
        params=[("metadata", "tags"), *encode_query(q.Eq("color", "red"))],
    ).json()
    assert red["metadata"]["tags"] == [
        {"value": ["a", "b"], "count": None},
        {"value": ["c"], "count": None},
    ]
