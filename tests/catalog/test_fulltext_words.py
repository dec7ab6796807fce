"""PostgreSQL's word table (migration 0005) and word bitmaps (0006) hold exactly the
lexemes of every node's ``fulltext`` after each kind of write, and answer full-text
queries and their counts as GIN does."""

import asyncio
import re

import pytest
from alembic import command
from sqlalchemy import text

from tiled import queries as q
from tiled.catalog import Catalog
from tiled.catalog.database import _alembic_config
from tiled.structures.core import StructureFamily

pytestmark = pytest.mark.postgres

CONTAINER = StructureFamily.container

_STORED = "SELECT parent_id, word, node_id FROM fulltext_words"
_EXPECTED = (
    "SELECT parent_id, w, id FROM nodes, unnest(tsvector_to_array(fulltext)) AS w "
    "WHERE parent_id IS NOT NULL"
)
# the bitmaps, one row per bit set; and the rows left without one (there should be none)
_BITS = (
    "SELECT parent_id, word, block * 1024 + i FROM fulltext_bits, generate_series(0, 1023) AS i "
    "WHERE get_bit(bits, i) = 1"
)
_COUNTED = re.compile(r"[a-z]+|[0-9]+")
_EMPTY = "SELECT parent_id, word, block FROM fulltext_bits WHERE bit_count(bits) = 0"
_GIN_COUNT = (
    "SELECT count(*) FROM nodes WHERE parent_id = :parent "
    "AND fulltext @@ plainto_tsquery('simple'::regconfig, :words)"
)
_GIN = (
    "SELECT key FROM nodes WHERE parent_id = :parent "
    "AND fulltext @@ plainto_tsquery('simple'::regconfig, :words) ORDER BY id"
)


async def _rows(catalog: Catalog, statement: str) -> list[tuple]:
    async with catalog.engine.connect() as conn:
        return sorted(tuple(r) for r in (await conn.execute(text(statement))).all())


def _in_sync(runner, catalog) -> int:
    stored = runner.run(_rows(catalog, _STORED))
    assert stored == runner.run(_rows(catalog, _EXPECTED))
    # the bitmaps hold the words counted from them only: plain ASCII letters or digits
    counted = [row for row in stored if _COUNTED.fullmatch(row[1])]
    assert runner.run(_rows(catalog, _BITS)) == counted
    assert runner.run(_rows(catalog, _EMPTY)) == []
    return len(stored)


def _keys(runner, catalog, path, words):
    found = runner.run(catalog.page(path, queries=[q.FullText(words)], limit=100))
    assert found.count == len(found.records)
    return [r.key for r in found.records]


def test_words_follow_inserts_updates_moves_and_deletes(postgres_uri):
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(postgres_uri))
        try:

            def create(path, key, meta):
                return runner.run(
                    catalog.create_node(
                        path, key=key, structure_family=CONTAINER, metadata=meta, specs=[]
                    )
                )

            create((), "a", {})
            create((), "b", {})

            async def skip_ids():  # the next nodes straddle two blocks of 1,024 ids
                async with catalog.engine.begin() as conn:
                    await conn.execute(text("SELECT setval('nodes_id_seq', 1021)"))

            runner.run(skip_ids())
            create(("a",), "x", {"s": "quick brown fox", "n": {"deep": "Lazy DOG"}})
            create(("a",), "y", {"s": "quick cat", "n": 3})
            create(("a", "x"), "inner", {"s": "quick fox"})
            assert _in_sync(runner, catalog) == 9
            assert _keys(runner, catalog, ("a",), "quick") == ["x", "y"]
            assert _keys(runner, catalog, ("a",), "fox QUICK") == ["x"]
            assert _keys(runner, catalog, ("a",), "dog lazy fox") == ["x"]

            # metadata whose text does not change leaves the words alone
            runner.run(catalog.update_metadata(("a", "y"), metadata={"s": "quick cat", "n": 4}))
            assert _in_sync(runner, catalog) == 9
            runner.run(catalog.update_metadata(("a", "y"), metadata={"s": "slow cat"}))
            assert _in_sync(runner, catalog) == 9
            assert _keys(runner, catalog, ("a",), "quick") == ["x"]
            assert _keys(runner, catalog, ("a",), "slow cat") == ["y"]

            async def move():
                async with catalog.engine.begin() as conn:
                    await conn.execute(
                        text(
                            "UPDATE nodes SET parent_id = (SELECT id FROM nodes WHERE path = 'b'), "
                            "path = 'b/y' WHERE path = 'a/y'"
                        )
                    )

            runner.run(move())
            assert _in_sync(runner, catalog) == 9
            assert _keys(runner, catalog, ("a",), "cat") == []
            assert _keys(runner, catalog, ("b",), "cat") == ["y"]

            runner.run(catalog.delete(("a", "x"), recursive=True))  # with its child
            assert _in_sync(runner, catalog) == 2
            assert _keys(runner, catalog, ("a",), "quick") == []
            runner.run(catalog.delete(("b",), recursive=True))
            assert _in_sync(runner, catalog) == 0
        finally:
            runner.run(catalog.close())


# Plain words (the word table), and words the parser splits or that are not ASCII (GIN).
QUERIES = ["fox", "fox quick", "2021", "0123", "p", "12e3x", "x", "12e3", "café", "ni42", "zz"]


def test_word_table_answers_as_gin_does(postgres_uri):
    metadata = [
        {"s": "quick brown fox", "id": "P-2021-0123", "code": "12e3x"},
        {"s": "Fox! quick? café", "tags": ["x", "Ni42"], "v": 2021},
        {"s": "nothing here", "deep": {"a": {"b": "QUICK fox 2021"}}},
    ]
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(postgres_uri))
        try:
            parent = runner.run(
                catalog.create_node((), key="c", structure_family=CONTAINER, metadata={}, specs=[])
            )
            for i, meta in enumerate(metadata):
                runner.run(
                    catalog.create_node(
                        ("c",), key=f"n{i}", structure_family=CONTAINER, metadata=meta, specs=[]
                    )
                )

            async def gin(words):
                async with catalog.engine.connect() as conn:
                    found = await conn.execute(
                        text(_GIN), {"parent": parent.id, "words": " ".join(words)}
                    )
                    return [r[0] for r in found]

            async def gin_count(words):
                async with catalog.engine.connect() as conn:
                    found = await conn.execute(
                        text(_GIN_COUNT), {"parent": parent.id, "words": " ".join(words)}
                    )
                    return found.scalar_one()

            for query in QUERIES:
                words = q.FullText(query).words
                assert _keys(runner, catalog, ("c",), query) == runner.run(gin(words)), query
                counted = runner.run(catalog.page(("c",), queries=[q.FullText(query)], limit=0))
                assert counted.count == runner.run(gin_count(words)), query
            # with another filter, the count is of the nodes matching both
            both = [q.FullText("fox quick"), q.Eq("v", 2021)]
            assert runner.run(catalog.page(("c",), queries=both, limit=0)).count == 1
            assert _keys(runner, catalog, ("c",), "fox quick") == ["n0", "n1", "n2"]
            assert _keys(runner, catalog, ("c",), "12e3x") == ["n0"]
        finally:
            runner.run(catalog.close())


def test_upgrade_fills_the_bitmaps_from_the_word_table(postgres_uri):
    """0006 on a catalog holding nodes builds their bitmaps from ``fulltext_words``; its
    downgrade drops them and their triggers."""
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(postgres_uri))
        try:
            for key in ("a", "b"):
                runner.run(
                    catalog.create_node(
                        (), key=key, structure_family=CONTAINER, metadata={}, specs=[]
                    )
                )
            for i in range(40):
                meta = {"s": f"word{i % 3} common", "n": f"w{i % 7}"}
                runner.run(
                    catalog.create_node(
                        ("a",) if i % 2 else ("b",),
                        key=f"n{i}",
                        structure_family=CONTAINER,
                        metadata=meta,
                        specs=[],
                    )
                )

            async def migrate(action, revision):
                async with catalog.engine.begin() as conn:
                    await conn.run_sync(lambda sync: action(_alembic_config(sync), revision))

            runner.run(migrate(command.downgrade, "0005"))
            tables = "SELECT 1 FROM pg_tables WHERE tablename = 'fulltext_bits'"
            assert runner.run(_rows(catalog, tables)) == []
            runner.run(migrate(command.upgrade, "head"))
            assert _in_sync(runner, catalog) == 40 * 3
            expected = [f"n{i}" for i in range(40) if i % 2 and i % 3 == 1]
            assert _keys(runner, catalog, ("a",), "common word1") == expected
        finally:
            runner.run(catalog.close())
