"""The catalog the search tests share: the captured "many" container, odd values, a tree.

Expectations are Python predicates over the metadata, so every test states the meaning
of a query independently of SQL, and SQLite and PostgreSQL must both agree with it.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tiled import queries as q
from tiled.catalog import Catalog
from tiled.structures.core import Spec, StructureFamily

COLORS = ["red", "green", "blue"]
ELEMENTS = ["Ni", "Cu", "Fe", "Cu"]


def many_metadata(i: int) -> dict[str, Any]:
    """As in the captures of spec/examples (n001: Cu1, green, tags a b; n008: Ni8, blue)."""
    return {
        "i": i,
        "color": COLORS[i % 3],
        "tags": ["a", "b"] if i % 2 else ["c"],
        "sample": {"name": f"{ELEMENTS[i % 4]}{i}"},
        "text": "the quick brown fox" if i % 5 == 0 else "lazy dog",
    }


MANY = {f"n{i:03d}": many_metadata(i) for i in range(120)}
MANY_SPECS = {key: ["odd" if meta["i"] % 2 else "even"] for key, meta in MANY.items()}

# One value per JSON type at "v", plus nodes lacking it, a deep key and a dotted key.
MIXED: dict[str, dict[str, Any]] = {
    "m_missing": {"other": 1},
    "m_obj": {"v": {"a": 1, "b": [2]}},
    "m_str": {"v": "abc"},
    "m_true": {"v": True},
    "m_int": {"v": 1},
    "m_list": {"v": [1, "x", None]},
    "m_null": {"v": None},
    "m_long": {"v": "z" * 300},
    "m_false": {"v": False},
    "m_float": {"v": 2.5},
    "m_deep": {"a": {"b": {"c": {"d": {"e": 5}}}}, "w": "Ünïcode straße"},
    "m_dotkey": {"v.w": 1, "w": "x_ray scan_001.h5"},
    "m_longer": {"v": "z" * 299 + "y" + "tail"},
}
MIXED_ORDER = list(MIXED)

# children of "tree": filters apply to direct children only
TREE = {"a": {"color": "red"}, "b": {"color": "blue"}}
TREE_A = {"a1": {"color": "red"}, "a2": {"color": "green"}}


async def populate(catalog: Catalog) -> None:
    container = StructureFamily.container
    await catalog.create_node((), key="many", structure_family=container, metadata={}, specs=[])
    for key, meta in MANY.items():
        specs = [Spec(name) for name in MANY_SPECS[key]]
        await catalog.create_node(
            ("many",), key=key, structure_family=container, metadata=meta, specs=specs
        )
    await catalog.create_node((), key="mixed", structure_family=container, metadata={}, specs=[])
    for key, meta in MIXED.items():
        await catalog.create_node(
            ("mixed",), key=key, structure_family=container, metadata=meta, specs=[]
        )
    await catalog.create_node((), key="tree", structure_family=container, metadata={}, specs=[])
    for key, meta in TREE.items():
        await catalog.create_node(
            ("tree",), key=key, structure_family=container, metadata=meta, specs=[]
        )
    for key, meta in TREE_A.items():
        await catalog.create_node(
            ("tree", "a"), key=key, structure_family=container, metadata=meta, specs=[]
        )


@contextmanager
def populated_catalog(uri: str) -> Iterator[tuple[asyncio.Runner, Catalog]]:
    """A connected catalog holding the dataset, with the event loop that owns it."""
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(uri, init=True))
        try:
            runner.run(populate(catalog))
            yield runner, catalog
        finally:
            runner.run(catalog.close())


# -- the reference semantics (docs/search.md), in plain Python ------------------------

_MISSING = object()


def value_at(meta: dict[str, Any], key: str) -> Any:
    value: Any = meta
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans apart from numbers, key order ignored."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _like(pattern: str) -> re.Pattern[str]:
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out) + r"\Z", re.S)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def reference(query: Any, meta: dict[str, Any], specs: list[str], key: str) -> bool:
    """Whether a node matches ``query``, by the documented semantics."""
    if isinstance(query, q.NotEq):
        return not reference(q.Eq(query.key, query.value), meta, specs, key)
    if isinstance(query, q.NotIn):
        return not reference(q.In(query.key, query.value), meta, specs, key)
    if isinstance(query, q.FullText):
        words = set(re.findall(r"[^\W_]+", " ".join(_strings(meta)).lower()))
        return all(word in words for word in query.words)
    if isinstance(query, q.KeyLookup):
        return key == query.key
    if isinstance(query, q.KeysFilter):
        return key in query.keys
    if isinstance(query, q.SpecsQuery):
        return all(s in specs for s in query.include) and not any(s in specs for s in query.exclude)
    if isinstance(query, q.StructureFamilyQuery):
        return query.value == "container"
    if isinstance(query, q.AccessTagsFilter):
        return True
    value = value_at(meta, query.key)
    if isinstance(query, q.KeyPresent):
        return (value is not _MISSING) == query.exists
    if value is _MISSING:
        return False
    if isinstance(query, q.Eq):
        return same(value, query.value)
    if isinstance(query, q.In):
        return any(same(value, v) for v in query.value)
    if isinstance(query, q.Contains):
        return isinstance(value, list) and any(same(v, query.value) for v in value)
    if isinstance(query, q.Comparison):
        wanted_str = isinstance(query.value, str)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (isinstance(value, str) if wanted_str else is_number):
            return False
        return {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}[
            query.operator
        ](value, query.value)
    if isinstance(query, q.Like):
        return isinstance(value, str) and _like(query.pattern).match(value) is not None
    if isinstance(query, q.Regex):
        flags = 0 if query.case_sensitive else re.IGNORECASE
        return isinstance(value, str) and re.search(query.pattern, value, flags) is not None
    raise TypeError(query)


def _sort_value(value: Any) -> tuple[int, Any, str]:
    if isinstance(value, bool):
        return (3 if value else 2), 0, ""
    if isinstance(value, int | float):
        return 0, value, ""
    if isinstance(value, str):
        return 1, 0, value[:256]
    if value is None:
        return 4, 0, ""
    return (5 if isinstance(value, list) else 6), 0, ""


def reference_order(
    data: dict[str, dict[str, Any]], keys: list[str], sorting: list[tuple[str, int]]
) -> list[str]:
    """``keys`` (in default order) sorted as the server must sort them."""
    position = {key: i for i, key in enumerate(data)}
    order: list[tuple[str, int]] = []
    tie = None
    for key, direction in sorting:
        if not key:
            tie = direction
            break
        order.append((key, direction))
    if tie is None:  # ties follow the last key's direction
        tie = order[-1][1] if order else 1

    def compare(a: str, b: str) -> int:
        for key, direction in order:
            va, vb = value_at(data[a], key), value_at(data[b], key)
            if (va is _MISSING) != (vb is _MISSING):
                return 1 if va is _MISSING else -1
            if va is _MISSING:
                continue
            sa, sb = _sort_value(va), _sort_value(vb)
            if sa != sb:
                return direction * (1 if sa > sb else -1)
        return tie * (position[a] - position[b])

    return sorted(keys, key=functools.cmp_to_key(compare))


# query, container: the queries every test runs, on both databases
CASES: list[tuple[Any, str]] = [
    (q.Eq("color", "red"), "many"),
    (q.Key("color") == "purple", "many"),
    (q.Eq("sample.name", "Ni8"), "many"),
    (q.NotEq("color", "red"), "many"),
    (q.Comparison("le", "i", 2), "many"),
    (q.Key("i") > 115, "many"),
    (q.Key("i") >= 115.5, "many"),
    (q.Key("sample.name") < "Cu2", "many"),
    (q.Contains("tags", "a"), "many"),
    (q.In("color", ["red", "blue"]), "many"),
    (q.NotIn("color", ["red", "blue"]), "many"),
    (q.KeyPresent("sample.name"), "many"),
    (q.KeyPresent("sample.name", exists=False), "many"),
    (q.Like("sample.name", "Ni%"), "many"),
    (q.Like("sample.name", "%u1_"), "many"),
    (q.Regex("sample.name", "^Ni1[0-9]$"), "many"),
    (q.Regex("sample.name", "^ni1[0-9]$", case_sensitive=False), "many"),
    (q.FullText("fox"), "many"),
    (q.FullText("QUICK fox"), "many"),
    (q.FullText("fox dog"), "many"),
    (q.KeyLookup("n003"), "many"),
    (q.KeysFilter(["n001", "n005", "nope"]), "many"),
    (q.Spec("even"), "many"),
    (q.SpecsQuery(include=[], exclude=["even"]), "many"),
    (q.SpecsQuery(include=["odd", "even"]), "many"),
    (q.StructureFamilyQuery("container"), "many"),
    (q.StructureFamilyQuery("array"), "many"),
    (q.AccessTagsFilter(["x"]), "many"),
    (q.Eq("v", 1), "mixed"),
    (q.Eq("v", 2.5), "mixed"),
    (q.Eq("v", True), "mixed"),
    (q.Eq("v", None), "mixed"),
    (q.Eq("v", "z" * 300), "mixed"),
    (q.Eq("v", [1, "x", None]), "mixed"),
    (q.Eq("v", {"b": [2], "a": 1.0}), "mixed"),
    (q.NotEq("v", 1), "mixed"),
    (q.In("v", [1, "abc", False, None]), "mixed"),
    (q.NotIn("v", [1, "abc"]), "mixed"),
    (q.Key("v") > 1, "mixed"),
    (q.Key("v") > "abc", "mixed"),
    (q.Key("v") <= "z" * 300, "mixed"),
    (q.Key("v") > "z" * 299 + "x", "mixed"),
    (q.Contains("v", "x"), "mixed"),
    (q.Contains("v", None), "mixed"),
    (q.KeyPresent("v"), "mixed"),
    (q.KeyPresent("v", exists=False), "mixed"),
    (q.Like("v", "z%"), "mixed"),
    (q.Like("v", "%tail"), "mixed"),
    (q.Regex("v", "y.*l$"), "mixed"),
    (q.Eq("a.b.c.d.e", 5), "mixed"),
    (q.Key("a.b.c.d.e") >= 5, "mixed"),
    (q.KeyPresent("a.b.c.d"), "mixed"),
    (q.Eq("v.w", 1), "mixed"),
    (q.FullText("straße"), "mixed"),
    (q.FullText("scan 001"), "mixed"),
    (q.FullText("x_ray"), "mixed"),
    (q.Eq("color", "red"), "tree"),
]
DATA = {"many": MANY, "mixed": MIXED, "tree": TREE}
SPECS = {"many": MANY_SPECS}


def expected(query: Any, container: str) -> list[str]:
    data = DATA[container]
    specs = SPECS.get(container, {})
    return [k for k, meta in data.items() if reference(query, meta, specs.get(k, []), k)]


def case_id(case: tuple[Any, str]) -> str:
    query, container = case
    text = ",".join(f"{k}={v[:12]}" for k, v in query.encode().items())
    return f"{container}-{query.name}-{text}"
