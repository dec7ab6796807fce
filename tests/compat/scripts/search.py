"""Search with every query type, sorting and distinct, on ``many/`` (and ``manual/``)."""

from _checks import check, main

from tiled.queries import (
    Comparison,
    Contains,
    Eq,
    FullText,
    In,
    Key,
    KeyLookup,
    KeyPresent,
    KeysFilter,
    Like,
    NotEq,
    NotIn,
    Regex,
    SpecQuery,
    SpecsQuery,
    StructureFamilyQuery,
)


def _keys(ctx, *queries):
    node = ctx.client()["many"]
    for query in queries:
        node = node.search(query)
    return {"keys": list(node), "len": len(node)}


QUERIES = {
    "key_eq": lambda: Key("color") == "red",
    "key_ne": lambda: Key("color") != "red",
    "key_lt": lambda: Key("i") < 5,
    "key_le": lambda: Key("i") <= 5,
    "key_gt": lambda: Key("i") > 115,
    "key_ge": lambda: Key("i") >= 115,
    "key_gt_string": lambda: Key("color") > "green",
    "eq": lambda: Eq("color", "blue"),
    "eq_dotted": lambda: Eq("sample.name", "Ni5"),
    "eq_bool": lambda: Eq("flag", True),
    "noteq": lambda: NotEq("color", "red"),
    "comparison_le": lambda: Comparison("le", "i", 3),
    "comparison_dotted": lambda: Comparison("ge", "sample.temperature", 285),
    "contains": lambda: Contains("tags", "t3"),
    "in": lambda: In("color", ["red", "blue"]),
    "notin": lambda: NotIn("color", ["red", "blue"]),
    "fulltext": lambda: FullText("fox"),
    "like": lambda: Like("sample.name", "Ni1_"),
    "specs_include": lambda: SpecsQuery(include=["odd"]),
    "specs_include_exclude": lambda: SpecsQuery(include=["odd"], exclude=["prime"]),
    "spec": lambda: SpecQuery("prime"),
    "keys_filter": lambda: KeysFilter(["n001", "n005", "n999"]),
    "key_present": lambda: KeyPresent("flag", True),
    "key_absent": lambda: KeyPresent("flag", False),
    "key_lookup": lambda: KeyLookup("n003"),
    "no_results": lambda: Key("color") == "purple",
}


def _make(name):
    def run(ctx):
        return _keys(ctx, QUERIES[name]())

    run.__name__ = f"query_{name}"
    return run


for _name in QUERIES:
    check(_make(_name))


@check
def query_regex(ctx):
    """Tiled's SQLite catalog answers 400; a server that supports it must get it right."""
    return _keys(ctx, Regex("sample.name", "^Ni1[0-9]$"))


@check
def query_structure_family(ctx):
    manual = ctx.client()["manual"]
    return {
        "array": list(manual.search(StructureFamilyQuery("array"))),
        "table": list(manual.search(StructureFamilyQuery("table"))),
        "container": list(manual.search(StructureFamilyQuery("container"))),
    }


@check
def chained(ctx):
    return _keys(ctx, Key("color") == "red", Key("i") > 100)


@check
def lookup_inside_results(ctx):
    results = ctx.client()["many"].search(Key("color") == "red")
    return dict(results["n003"].metadata)


@check
def lookup_outside_results(ctx):
    ctx.client()["many"].search(Key("color") == "red")["n001"]


@check
def contains_inside_results(ctx):
    results = ctx.client()["many"].search(Key("color") == "red")
    return {"n003": "n003" in results, "n001": "n001" in results}


@check
def results_key_views(ctx):
    results = ctx.client()["many"].search(Key("color") == "green")
    return {
        "first": results.keys().first(),
        "last": results.keys().last(),
        "slice": results.keys()[2:4],
        "tail": list(results.keys().tail(2)),
        "values_first": dict(results.values().first().metadata),
    }


@check
def sort_asc(ctx):
    return ctx.client()["many"].sort(("sample.temperature", 1)).keys()[:10]


@check
def sort_desc(ctx):
    return ctx.client()["many"].sort(("i", -1)).keys()[:5]


@check
def sort_multi(ctx):
    return list(ctx.client()["many"].sort(("color", 1), ("i", -1)))


@check
def sort_then_search(ctx):
    return list(ctx.client()["many"].sort(("i", -1)).search(Key("color") == "red"))[:5]


@check
def search_then_sort(ctx):
    return list(ctx.client()["many"].search(Key("i") < 10).sort(("color", -1), ("i", 1)))


@check
def sorted_last(ctx):
    return ctx.client()["many"].sort(("i", -1)).keys().last()


@check
def distinct_metadata(ctx):
    return ctx.client()["many"].distinct("color", counts=True)


@check
def distinct_families_and_specs(ctx):
    return ctx.client()["manual"].distinct(structure_families=True, specs=True, counts=True)


@check
def distinct_with_search(ctx):
    return ctx.client()["many"].search(Key("i") < 3).distinct("color", counts=True)


main()
