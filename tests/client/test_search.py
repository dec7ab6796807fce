"""``Container.search`` through our client, on both databases: every query type of the
shared cases, chained searches, lookups inside results, sorting and deep slices."""

import pytest

from tiled import queries as q
from tiled.client import from_uri
from tiled.testing.server import run_server

from ..catalog.search_data import (
    CASES,
    MANY,
    MIXED,
    MIXED_ORDER,
    case_id,
    expected,
    populated_catalog,
    reference_order,
)

API_KEY = "secret"
MANY_KEYS = list(MANY)


@pytest.fixture(scope="module")
def client(module_catalog_uri):
    with populated_catalog(module_catalog_uri):
        pass
    with (
        run_server(module_catalog_uri, api_key=API_KEY) as url,
        from_uri(url, api_key=API_KEY) as client,
    ):
        yield client


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_query_through_the_client(client, case):
    query, container = case
    found = client[container].search(query)
    assert list(found) == expected(query, container)
    assert len(found) == len(expected(query, container))


def test_chained_searches_and_lookups_inside_them(client):
    many = client["many"]
    red = many.search(q.Key("color") == "red")
    chain = red.search(q.Key("i") < 10).search(q.Spec("even"))
    assert list(chain) == ["n000", "n006"]
    assert chain["n006"].metadata["i"] == 6
    assert "n003" not in chain  # odd: not in the chained results
    with pytest.raises(KeyError):
        chain["n003"]
    assert list(red.search(q.FullText("fox")).search(q.Contains("tags", "c"))) == [
        "n000",
        "n030",
        "n060",
        "n090",
    ]


def test_nested_containers(client):
    tree = client["tree"]
    assert list(tree.search(q.Eq("color", "red"))) == ["a"]
    assert list(tree["a"].search(q.Eq("color", "red"))) == ["a1"]


def test_sorted_views_slice_and_reverse(client):
    many = client["many"]
    by_i = many.sort(("i", -1))
    assert by_i.keys().head(3) == ["n119", "n118", "n117"]
    assert by_i.keys()[100:103] == ["n019", "n018", "n017"]
    assert list(by_i) == MANY_KEYS[::-1]
    mixed = client["mixed"].sort(("v", 1))
    assert list(mixed) == reference_order(MIXED, MIXED_ORDER, [("v", 1)])
    assert mixed.keys().first() == "m_int"


def test_deep_items_slice_pages_with_cursors(client):
    many = client["many"]
    assert [k for k, _ in many.items()[105:115]] == MANY_KEYS[105:115]
    assert many.keys()[-1] == "n119"
    assert many.search(q.Key("i") >= 60).keys()[55:] == MANY_KEYS[115:]


def test_last_keys_of_a_sorted_view(client):
    ordered = client["many"].sort(("color", 1))
    want = reference_order(MANY, MANY_KEYS, [("color", 1)])
    assert ordered.keys().first() == want[0]
    assert ordered.keys().tail(2) == want[-2:]
