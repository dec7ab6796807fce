"""Search, sort and paging in the catalog, against the documented semantics, on both
databases (the reference is ``search_data.reference``)."""

import pytest

from tiled import queries as q
from tiled.errors import BadRequestError, InvalidQueryError

from .search_data import (
    CASES,
    MANY,
    MIXED,
    MIXED_ORDER,
    case_id,
    expected,
    populated_catalog,
    reference_order,
)


class SyncCatalog:
    """Runs the async catalog's calls on the loop that owns it."""

    def __init__(self, runner, catalog):
        self.runner = runner
        self.catalog = catalog

    def __getattr__(self, name):
        method = getattr(self.catalog, name)
        return lambda *args, **kwargs: self.runner.run(method(*args, **kwargs))

    def keys(self, path, **kwargs):
        return [r.key for r in self.page(path, limit=300, **kwargs).records]

    def walk(self, path, limit, **kwargs):
        """Every key, following next cursors page by page."""
        keys, cursor = [], None
        while True:
            found = self.page(path, limit=limit, cursor=cursor, **kwargs)
            keys += [r.key for r in found.records]
            assert len(found.records) <= limit
            if found.next_cursor is None:
                return keys
            assert len(found.records) == limit
            cursor = found.next_cursor


@pytest.fixture(scope="module")
def catalog(module_catalog_uri):
    with populated_catalog(module_catalog_uri) as (runner, catalog):
        yield SyncCatalog(runner, catalog)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_query_matches_the_reference(catalog, case):
    query, container = case
    want = expected(query, container)
    assert catalog.keys((container,), queries=[query]) == want
    assert catalog.count((container,), queries=[query]) == len(want)


def test_combined_queries_and_together(catalog):
    chained = [q.Eq("color", "red"), q.Key("i") < 10]
    assert catalog.keys(("many",), queries=chained) == ["n000", "n003", "n006", "n009"]
    three = [*chained, q.FullText("fox")]
    assert catalog.keys(("many",), queries=three) == ["n000"]
    assert catalog.count(("many",), queries=[*three, q.Spec("odd")]) == 0


def test_comparisons_of_one_key_make_one_range(catalog):
    window = [q.Key("i") >= 10, q.Key("color") == "red", q.Key("i") < 20, q.Key("i") != 12]
    assert catalog.keys(("many",), queries=window) == ["n015", "n018"]
    mixed = [q.Key("v") > 0, q.Key("v") < "zz"]  # a number and a string: nothing is both
    assert catalog.keys(("mixed",), queries=mixed) == []
    assert catalog.keys(("mixed",), queries=[q.Key("v") > "a", q.Key("v") <= "z" * 300]) == [
        "m_str",
        "m_long",
        "m_longer",
    ]


def test_search_applies_to_direct_children_only(catalog):
    red = [q.Eq("color", "red")]
    assert catalog.keys(("tree",), queries=red) == ["a"]
    assert catalog.keys(("tree", "a"), queries=red) == ["a1"]
    assert catalog.keys((), queries=[q.KeyLookup("a1")]) == []


@pytest.mark.parametrize(
    "sorting",
    [
        [("v", 1)],
        [("v", -1)],
        [("v", 1), ("", -1)],
        [("v", -1), ("", -1)],
        [("v", -1), ("", 1)],
        [("a.b.c.d.e", 1)],
        [("v", 1), ("w", -1)],
        [("", -1)],
        [("nothing", -1)],
    ],
    ids=str,
)
def test_mixed_types_and_missing_keys_sort_deterministically(catalog, sorting):
    want = reference_order(MIXED, MIXED_ORDER, sorting)
    assert catalog.keys(("mixed",), sorting=sorting) == want
    assert catalog.walk(("mixed",), 2, sorting=sorting) == want
    one_by_one = [catalog.keys(("mixed",), sorting=sorting, offset=i)[0] for i in range(len(want))]
    assert one_by_one == want
    # filtered: nodes lacking "v" still come last, and phases carry offsets over
    query = q.NotEq("v", "abc")
    kept = expected(query, "mixed")
    want = reference_order(MIXED, kept, sorting)
    assert catalog.walk(("mixed",), 3, sorting=sorting, queries=[query]) == want
    tail = catalog.keys(("mixed",), sorting=sorting, queries=[query], offset=len(want) - 2)
    assert tail == want[-2:]


MANY_KEYS = list(MANY)


@pytest.mark.parametrize(
    "sorting",
    [[], [("", -1)], [("i", 1)], [("i", -1)], [("color", 1), ("i", -1)], [("sample.name", -1)]],
    ids=str,
)
@pytest.mark.parametrize(
    "queries",
    [
        [],
        [q.Eq("color", "red")],
        [q.KeysFilter(["n003", "n100", "n050", "n051"])],
        [q.FullText("fox")],
        [q.KeyPresent("sample.name")],
        [q.NotEq("color", "purple"), q.FullText("dog")],
    ],
    ids=lambda qs: ",".join(x.name for x in qs) or "all",
)
def test_cursor_and_offset_pages_agree_with_one_sort(catalog, sorting, queries):
    keys = [k for k in MANY_KEYS if all(expected(x, "many").count(k) for x in queries)]
    want = reference_order(MANY, keys, sorting)
    assert catalog.walk(("many",), 7, sorting=sorting, queries=queries) == want
    for offset in (0, 5, len(want) - 1, len(want), len(want) + 3):
        page = catalog.page(("many",), sorting=sorting, queries=queries, offset=offset, limit=4)
        assert [r.key for r in page.records] == want[offset : offset + 4]
        assert page.count == len(want)
        assert (page.next_cursor is not None) == (offset + 4 < len(want))


def test_captured_multi_key_sort(catalog):
    # Tiled sorts "i" as text here (n098 first); we sort numbers as numbers.
    assert catalog.keys(("many",), sorting=[("color", 1), ("i", -1)])[:3] == [
        "n119",
        "n116",
        "n113",
    ]


def test_last_page_has_no_next_cursor(catalog):
    page = catalog.page(("many",), limit=60, offset=60)
    assert len(page.records) == 60
    assert page.next_cursor is None
    first = catalog.page(("many",), limit=60, sorting=[("i", 1)])
    last = catalog.page(("many",), limit=60, sorting=[("i", 1)], cursor=first.next_cursor)
    assert [r.key for r in last.records] == MANY_KEYS[60:]
    assert last.next_cursor is None


def test_count_only_and_empty_pages(catalog):
    page = catalog.page(("many",), limit=0, queries=[q.Eq("color", "red")])
    assert (page.records, page.count, page.next_cursor) == ([], 40, None)
    assert catalog.page(("tree", "b"), limit=10).count == 0


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "eyJ4IjoxfQ", "WyJhYmMiLDAsWzFdXQ", "W10", "WyJhYmMiLC0xLFsxXV0", "%%%"],
    ids=repr,
)
def test_foreign_cursors_are_refused(catalog, cursor):
    if not cursor:
        assert catalog.page(("many",), cursor=cursor or None).count == 120
        return
    with pytest.raises(BadRequestError, match="not a cursor of this listing"):
        catalog.page(("many",), cursor=cursor)


def test_a_cursor_only_fits_its_own_sort(catalog):
    page = catalog.page(("many",), limit=3, sorting=[("i", -1)])
    with pytest.raises(BadRequestError, match="same sort"):
        catalog.page(("many",), limit=3, sorting=[("i", 1)], cursor=page.next_cursor)
    with pytest.raises(BadRequestError, match="same sort"):
        catalog.page(("many",), limit=3, cursor=page.next_cursor)


def test_bad_sort_keys_and_regexes_say_why(catalog):
    with pytest.raises(InvalidQueryError, match="dotted"):
        catalog.page(("many",), sorting=[("a..b", 1)])
    # Valid in Python, and as a POSIX regular expression too: but both databases
    # must answer, not fail with an internal error.
    assert catalog.count(("many",), queries=[q.Regex("sample.name", "^(Ni|Cu)1$")]) == 1


def test_distinct_values_counts_and_order(catalog):
    found = catalog.distinct(
        ("many",), metadata_keys=["color", "tags"], structure_families=True, specs=True, counts=True
    )
    assert found["metadata"]["color"] == [
        {"value": "blue", "count": 40},
        {"value": "green", "count": 40},
        {"value": "red", "count": 40},
    ]
    assert found["metadata"]["tags"] == [
        {"value": ["a", "b"], "count": 60},
        {"value": ["c"], "count": 60},
    ]
    assert found["structure_families"] == [{"value": "container", "count": 120}]
    assert found["specs"] == [
        {"value": [{"name": "even", "version": None}], "count": 60},
        {"value": [{"name": "odd", "version": None}], "count": 60},
    ]
    mixed = catalog.distinct(
        ("mixed",),
        metadata_keys=["v", "a.b.c.d.e"],
        structure_families=False,
        specs=False,
        counts=False,
        queries=[q.NotEq("v", "abc")],
    )
    values = [item["value"] for item in mixed["metadata"]["v"]]
    assert values == [
        1,
        2.5,
        "z" * 299 + "ytail",
        "z" * 300,
        False,
        True,
        None,
        [1, "x", None],
        {"a": 1, "b": [2]},
    ]
    assert mixed["metadata"]["a.b.c.d.e"] == [{"value": 5, "count": None}]
