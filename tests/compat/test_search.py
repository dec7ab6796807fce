"""Checklist, "Search and sort": every query type, chained searches, lookups inside
results, sorting and distinct. Expected results are computed here in plain Python from
the metadata the setup script gave ``many/``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from .conftest import differs_on_tiled
from .tree import MANY, many_metadata, many_specs

NUMBERS_AS_TEXT = "its SQLite catalog orders numbers as text (n099 before n119, descending)"

KEYS = [f"n{i:03d}" for i in range(MANY)]
META = [many_metadata(i) for i in range(MANY)]


def where(predicate: Callable[[dict, list[str]], bool]) -> list[str]:
    return [KEYS[i] for i in range(MANY) if predicate(META[i], many_specs(i))]


EXPECTED = {
    "key_eq": where(lambda m, s: m["color"] == "red"),
    "key_ne": where(lambda m, s: m["color"] != "red"),
    "key_lt": where(lambda m, s: m["i"] < 5),
    "key_le": where(lambda m, s: m["i"] <= 5),
    "key_gt": where(lambda m, s: m["i"] > 115),
    "key_ge": where(lambda m, s: m["i"] >= 115),
    "key_gt_string": where(lambda m, s: m["color"] > "green"),
    "eq": where(lambda m, s: m["color"] == "blue"),
    "eq_dotted": where(lambda m, s: m["sample"]["name"] == "Ni5"),
    "eq_bool": where(lambda m, s: m.get("flag") is True),
    "noteq": where(lambda m, s: m["color"] != "red"),
    "comparison_le": where(lambda m, s: m["i"] <= 3),
    "comparison_dotted": where(lambda m, s: m["sample"]["temperature"] >= 285),
    "contains": where(lambda m, s: "t3" in m["tags"]),
    "in": where(lambda m, s: m["color"] in ("red", "blue")),
    "notin": where(lambda m, s: m["color"] not in ("red", "blue")),
    "fulltext": where(lambda m, s: "fox" in m["text"].split()),
    "like": where(lambda m, s: re.fullmatch(r"Ni1.", m["sample"]["name"]) is not None),
    "specs_include": where(lambda m, s: "odd" in s),
    "specs_include_exclude": where(lambda m, s: "odd" in s and "prime" not in s),
    "spec": where(lambda m, s: "prime" in s),
    "keys_filter": ["n001", "n005"],
    "key_present": where(lambda m, s: "flag" in m),
    "key_absent": where(lambda m, s: "flag" not in m),
    "key_lookup": ["n003"],
    "no_results": [],
}


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("search", tmp_path_factory.mktemp("search"))


def test_no_server_errors(results):
    assert results.server_errors == []


@pytest.mark.parametrize("name", list(EXPECTED))
def test_query(results, name):
    assert results.value(f"query_{name}") == {"keys": EXPECTED[name], "len": len(EXPECTED[name])}


def test_regex_is_supported_or_refused_with_400(results, served, request):
    differs_on_tiled(request, served, "Regex is refused with 400 on SQLite catalogs")
    # Tiled's SQLite catalog answers 400 "not supported"; both dialects here support it.
    expected = where(lambda m, s: re.search(r"^Ni1[0-9]$", m["sample"]["name"]) is not None)
    assert results.value("query_regex") == {"keys": expected, "len": len(expected)}


def test_structure_family_query(results):
    value = results.value("query_structure_family")
    assert {"image", "seq", "arr", "small"} <= set(value["array"])
    assert set(value["array"]) <= {"image", "seq", "arr", "small", "zarr"}
    assert value["table"] == ["csv", "pq"]
    assert set(value["container"]) <= {"h5", "xlsx", "nc"}
    assert {"h5", "nc"} <= set(value["container"])


def test_chained_searches_and(results):
    expected = where(lambda m, s: m["color"] == "red" and m["i"] > 100)
    assert results.value("chained") == {"keys": expected, "len": len(expected)}


def test_lookup_inside_results(results):
    assert results.value("lookup_inside_results") == many_metadata(3)
    results.raised("lookup_outside_results", "builtins.KeyError")
    assert results.value("contains_inside_results") == {"n003": True, "n001": False}


def test_key_views_of_results(results):
    green = where(lambda m, s: m["color"] == "green")
    assert results.value("results_key_views") == {
        "first": green[0],
        "last": green[-1],
        "slice": green[2:4],
        "tail": green[-2:],
        "values_first": many_metadata(int(green[0][1:])),
    }


def _sorted(*keys: tuple[Callable[[dict], object], int]) -> list[str]:
    """Stable sorts from the last key to the first; ties keep the default order."""
    order = list(range(MANY))
    for key, direction in reversed(keys):
        order.sort(key=lambda i, key=key: key(META[i]), reverse=direction < 0)
    return [KEYS[i] for i in order]


def test_sort_ascending_by_dotted_key(results):
    expected = _sorted((lambda m: m["sample"]["temperature"], 1))
    assert results.value("sort_asc") == expected[:10]


def test_sort_descending(results, served, request):
    differs_on_tiled(request, served, NUMBERS_AS_TEXT)
    assert results.value("sort_desc") == KEYS[::-1][:5]
    assert results.value("sorted_last") == KEYS[0]


def test_sort_multiple_keys(results, served, request):
    differs_on_tiled(request, served, NUMBERS_AS_TEXT)
    expected = _sorted((lambda m: m["color"], 1), (lambda m: m["i"], -1))
    assert results.value("sort_multi") == expected


def test_sort_then_search(results, served, request):
    differs_on_tiled(request, served, NUMBERS_AS_TEXT)
    expected = [k for k in KEYS[::-1] if META[int(k[1:])]["color"] == "red"]
    assert results.value("sort_then_search") == expected[:5]


def test_search_then_sort(results):
    small = [i for i in range(MANY) if META[i]["i"] < 10]
    order = sorted(small, key=lambda i: META[i]["i"])
    order.sort(key=lambda i: META[i]["color"], reverse=True)
    assert results.value("search_then_sort") == [KEYS[i] for i in order]


def _distinct(value: dict) -> dict:
    return {entry["value"]: entry["count"] for entry in value}


def test_distinct_metadata(results):
    value = results.value("distinct_metadata")
    assert _distinct(value["metadata"]["color"]) == Counter(m["color"] for m in META)


def test_distinct_with_search(results):
    value = results.value("distinct_with_search")
    assert _distinct(value["metadata"]["color"]) == {"red": 1, "green": 1, "blue": 1}


def test_distinct_structure_families_and_specs(results, served):
    value = results.value("distinct_families_and_specs")
    families = _distinct(value["structure_families"])
    assert families["table"] == 2
    assert families["array"] >= 4
    specs = {tuple(s["name"] for s in e["value"]): e["count"] for e in value["specs"]}
    assert specs[("NpySpec",)] == 1
