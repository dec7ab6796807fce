"""The bulk writer's search rows equal the triggers' (see ``search/rows.py``).

The same metadata, awkward on purpose (numbers at the edges of 64 bits and of float
precision, strings past the indexed prefix, keys with dots and backslashes, paths past
the indexed length, nesting past the indexed depth, arrays of everything, keys that are
not strings) and random, is written into two containers: once by ``Catalog.apply`` and
once node by node through ``create_node`` (the triggers). Every search table must then
hold the same rows for both, token by token for full text. Then each side's nodes are
changed by the other writer (a trigger removes rows the bulk writer wrote, and the other
way round) and finally deleted: still equal, and nothing is left behind.
"""

import asyncio
import json
import random

from sqlalchemy import text

from tiled.catalog import Catalog
from tiled.registration.model import Put
from tiled.structures.core import Spec, StructureFamily
from tiled.testing.entries import container_entry

CONTAINER = StructureFamily.container

AWKWARD = [
    {},
    {"i": 1, "neg": -7, "big": 2**63 - 1, "small": -(2**63), "over": 2**63, "huge": 10**30},
    {"under": -(2**63) - 1, "f": 0.1, "e": 1e17, "tiny": 5e-324, "sub": 1e-320, "z": -0.0},
    {"one": 1.0, "max": 1.7976931348623157e308, "third": 1 / 3, "pi": 3.141592653589793},
    {"t": True, "f": False, "n": None, "s": "", "long": "x" * 300, "uni": "Ünïcødé ✓ 字"},
    {"nul": "a\x00b", "a.b": 1, "a\\b": 2, "a": {"b": 3}, "": {"": ""}, ".": "\\"},
    {"arr": [1, 1.0, 1, "1", True, None, [2, 3], {"k": "v"}, 0.1, 2**64, "y" * 300]},
    {"l1": {"l2": {"l3": {"l4": {"l5": {"l6": "deep"}}, "v": [1, 2]}, "w": 2}}},
    {"k" * 200: {"k" * 60: 1, "short": [1, 2]}, "p" * 255: [1, 2], "q" * 256: 3},
    {"nested": [[["inner text"]], {"in": ["array", {"deeper": "words"}]}]},
    {1: "int key", None: "none key", 2.5: {"x": 1}, False: [1]},
    {"mixed": [1e17, 123456789012345678901234567890, -0.0, 1e-7, 1.5e300]},
    {"words": "The quick brown fox; jumps over the lazy dog's back! 123 abc_def"},
]


# every token of the full-text index: (term, node id, column, position)
FTS_TOKENS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_tokens "
    "USING fts5vocab(main, nodes_fts, 'instance')"
)


def random_value(rng, depth):
    kind = rng.randrange(10 if depth < 5 else 7)
    if kind == 0:
        return rng.randint(-(2**70), 2**70)
    if kind == 1:
        return rng.random() * 10 ** rng.randint(-320, 300) * rng.choice([1, -1])
    if kind == 2:
        return rng.choice([True, False, None, 0, -1, 2**63, 0.5])
    if kind in (3, 4):
        return "".join(rng.choice("ab. \\ü字0") for _ in range(rng.randint(0, 300)))
    if kind in (5, 6):
        return rng.randint(-1000, 1000)
    if kind in (7, 8):
        return {random_key(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]


def random_key(rng):
    return "".join(rng.choice("ab.\\x") for _ in range(rng.randint(0, 5)))


def corpus():
    rng = random.Random(4)
    randoms = [
        {random_key(rng): random_value(rng, 1) for _ in range(rng.randint(0, 8))}
        for _ in range(150)
    ]
    specs = [[], [Spec("xdi", "1.0")], [Spec("a" * 255), Spec("b")]]
    return [(m, specs[i % 3]) for i, m in enumerate(AWKWARD + randoms)]


def changed(metadata):
    """Other metadata for the same node: some rows the same, some not."""
    if not isinstance(metadata, dict) or not metadata:
        return {"added": 1}
    keys = list(metadata)
    return {**{k: metadata[k] for k in keys[::2]}, "added": [1.5, "two"]}


async def search_tables(catalog, container):
    """Every search row of ``container``'s children, by child key (not id)."""
    parent = await catalog.lookup((container,))
    async with catalog.engine.connect() as conn:
        found = await conn.execute(text(f"SELECT id, key FROM nodes WHERE parent_id = {parent.id}"))
        keys = {node_id: key for node_id, key in found}
        index = await conn.execute(
            text(
                "SELECT node_id, path, rank, num, txt, typeof(num) FROM metadata_index "
                f"WHERE parent_id = {parent.id}"
            )
            if conn.dialect.name == "sqlite"
            else text(
                "SELECT node_id, path, rank, num, txt, '' FROM metadata_index "
                f"WHERE parent_id = {parent.id}"
            )
        )
        rows = sorted((keys[n], *rest) for n, *rest in index)
        key_counts = sorted(
            await conn.execute(
                text(f"SELECT path, nodes FROM key_counts WHERE parent_id = {parent.id}")
            )
        )
        children = (
            await conn.execute(
                text(f"SELECT children FROM node_counts WHERE node_id = {parent.id}")
            )
        ).scalar()
        if conn.dialect.name == "sqlite":
            await conn.execute(text(FTS_TOKENS))
            tokens = [
                (keys[doc], term, offset)
                for term, doc, offset in await conn.execute(
                    text("SELECT term, doc, offset FROM temp.fts_tokens")
                )
                if doc in keys
            ]
        else:
            tokens = [
                (keys[node], str(document))
                for node, document in await conn.execute(
                    text(f"SELECT id, fulltext FROM nodes WHERE parent_id = {parent.id}")
                )
            ]
        total = (await conn.execute(text("SELECT count(*) FROM metadata_index"))).scalar()
    return {
        "rows": rows,
        "key_counts": key_counts,
        "children": children,
        "tokens": sorted(tokens),
        "total": total,
    }


def test_bulk_and_trigger_rows_are_identical(catalog_uri):
    items = corpus()
    if not catalog_uri.endswith(".db"):  # PostgreSQL's JSON holds no NUL character
        items = [(m, s) for m, s in items if "\\u0000" not in json.dumps(m)]

    async def body():
        catalog = await Catalog.connect(catalog_uri)
        try:
            for name in ("bulk", "single"):
                await catalog.create_node(
                    (), key=name, structure_family=CONTAINER, metadata={}, specs=[]
                )
            puts = []
            for i, (metadata, specs) in enumerate(items):
                entry = container_entry((f"n{i}",), metadata)
                entry.metadata = metadata  # as given: keys that are not strings too
                entry.specs = list(specs)
                puts.append(Put(entry))
            outcomes = await catalog.apply(("bulk",), puts)
            assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok]
            for i, (metadata, specs) in enumerate(items):
                await catalog.create_node(
                    ("single",),
                    key=f"n{i}",
                    structure_family=CONTAINER,
                    metadata=metadata,
                    specs=list(specs),
                )

            async def assert_same():
                bulk = await search_tables(catalog, "bulk")
                single = await search_tables(catalog, "single")
                assert bulk["rows"] == single["rows"]
                assert bulk["key_counts"] == single["key_counts"]
                assert bulk["children"] == single["children"] == len(items)
                assert bulk["tokens"] == single["tokens"]
                return bulk

            first = await assert_same()
            assert len(first["rows"]) > 1000
            assert len(first["tokens"]) > 150  # tokens (SQLite), documents (PostgreSQL)

            # Each side changed by the other writer: triggers remove bulk-written rows,
            # the bulk writer removes trigger-written ones.
            for i, (metadata, specs) in enumerate(items):
                await catalog.update_metadata(
                    ("bulk", f"n{i}"), metadata=changed(metadata), specs=list(specs)[:1]
                )
            puts = []
            for i, (metadata, specs) in enumerate(items):
                entry = container_entry((f"n{i}",), changed(metadata))
                entry.specs = list(specs)[:1]
                puts.append(Put(entry, replace=True))
            outcomes = await catalog.apply(("single",), puts)
            assert all(o.ok for o in outcomes)
            await assert_same()

            # Bulk replace again (bulk-written old rows), then remove everything.
            for name in ("bulk", "single"):
                puts = []
                for i, (metadata, specs) in enumerate(items):
                    entry = container_entry((f"n{i}",), metadata)
                    entry.metadata = metadata
                    entry.specs = list(specs)
                    puts.append(Put(entry, replace=True))
                assert all(o.ok for o in await catalog.apply((name,), puts))
            again = await assert_same()
            assert again["rows"] == first["rows"]
            # (rows of keys no child has any more stay, at 0, as the triggers leave them)
            assert [c for c in again["key_counts"] if c[1]] == first["key_counts"]
            for name in ("bulk", "single"):
                await catalog.delete((name,), recursive=True)
            async with catalog.engine.connect() as conn:
                for query in (
                    "SELECT count(*) FROM metadata_index",
                    "SELECT count(*) FROM node_counts WHERE children != 0",
                    "SELECT count(*) FROM key_counts WHERE nodes != 0",
                ):
                    assert (await conn.execute(text(query))).scalar() == 0, query
                if conn.dialect.name == "sqlite":
                    await conn.execute(text(FTS_TOKENS))
                    left = await conn.execute(text("SELECT count(*) FROM temp.fts_tokens"))
                    assert left.scalar() == 0
                    writer = await conn.execute(text("SELECT count(*) FROM search_writer"))
                    assert writer.scalar() == 0
        finally:
            await catalog.close()

    asyncio.run(body())
