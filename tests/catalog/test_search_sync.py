"""The search indexes follow every write: the catalog's own, a raw bulk INSERT (as a bulk
indexer writes), metadata and spec updates, deletes of subtrees; and catalogs created
before migration 0002 are indexed when upgraded."""

import asyncio
import json
import uuid

import pytest
from alembic import command
from sqlalchemy import func, insert, select, text

from tiled import queries as q
from tiled.catalog import Catalog, orm
from tiled.catalog.database import _alembic_config, create_engine, initialize_database
from tiled.structures.core import Spec, StructureFamily
from tiled.testing import databases

CONTAINER = StructureFamily.container


def keys(runner, catalog, path, *queries, **kwargs):
    found = runner.run(catalog.page(path, queries=list(queries), limit=300, **kwargs))
    assert found.count == len(found.records)
    return [r.key for r in found.records]


def index_rows(runner, catalog, parent_key):
    async def count():
        parent = await catalog.lookup((parent_key,))
        async with catalog.engine.connect() as conn:
            statement = select(func.count()).select_from(orm.MetadataIndex)
            return (
                await conn.execute(statement.where(orm.MetadataIndex.parent_id == parent.id))
            ).scalar()

    return runner.run(count())


def test_indexes_follow_catalog_writes(catalog_uri):
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(catalog_uri))
        try:
            create = lambda path, key, meta, specs=(): runner.run(  # noqa: E731
                catalog.create_node(
                    path, key=key, structure_family=CONTAINER, metadata=meta, specs=list(specs)
                )
            )
            create((), "c", {})
            create(("c",), "x", {"t": 1, "s": "quick fox"}, [Spec("A")])
            create(("c",), "y", {"t": 2, "s": "lazy dog"})
            create(("c", "y"), "inner", {"t": 1, "s": "quick fox"})
            assert keys(runner, catalog, ("c",), q.Eq("t", 1)) == ["x"]
            assert keys(runner, catalog, ("c",), q.FullText("fox")) == ["x"]
            assert runner.run(catalog.lookup(("c",))).child_count == 2

            runner.run(catalog.update_metadata(("c", "x"), metadata={"t": 3, "s": "slow cat"}))
            assert keys(runner, catalog, ("c",), q.Eq("t", 1)) == []
            assert keys(runner, catalog, ("c",), q.Key("t") > 2) == ["x"]
            assert keys(runner, catalog, ("c",), q.FullText("fox")) == []
            assert keys(runner, catalog, ("c",), q.FullText("cat")) == ["x"]
            assert keys(runner, catalog, ("c",), q.Spec("A")) == ["x"]
            runner.run(catalog.update_metadata(("c", "x"), specs=[Spec("B")]))
            assert keys(runner, catalog, ("c",), q.Spec("A")) == []
            assert keys(runner, catalog, ("c",), q.Spec("B")) == ["x"]
            assert keys(runner, catalog, ("c",), sorting=[("t", -1)]) == ["x", "y"]

            runner.run(catalog.delete(("c", "y"), recursive=True))
            assert keys(runner, catalog, ("c",)) == ["x"]
            assert keys(runner, catalog, ("c",), q.FullText("dog")) == []
            assert runner.run(catalog.lookup(("c",))).child_count == 1
            runner.run(catalog.delete(("c",), recursive=True))
            assert keys(runner, catalog, ()) == []
            assert index_rows_total(runner, catalog) == 0
        finally:
            runner.run(catalog.close())


def index_rows_total(runner, catalog):
    async def count():
        async with catalog.engine.connect() as conn:
            rows = (
                await conn.execute(select(func.count()).select_from(orm.MetadataIndex))
            ).scalar()
            keys = (await conn.execute(select(func.sum(orm.KeyCount.nodes)))).scalar()
            children = (await conn.execute(select(func.sum(orm.NodeCount.children)))).scalar()
            return rows + (keys or 0) + (children or 0)

    return runner.run(count())


def test_a_raw_bulk_insert_is_indexed_too(catalog_uri):
    """What a bulk writer does: many rows in one INSERT, no catalog code involved."""
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(catalog_uri))
        try:
            parent = runner.run(
                catalog.create_node(
                    (), key="bulk", structure_family=CONTAINER, metadata={}, specs=[]
                )
            )
            rows = [
                {
                    "parent_id": parent.id,
                    "key": f"k{i}",
                    "path": f"bulk/k{i}",
                    "structure_family": "container",
                    "metadata": {"i": i, "even": i % 2 == 0} if i % 5 else {"note": "no i here"},
                    "specs": [],
                }
                for i in range(50)
            ]

            async def write():
                async with catalog.engine.begin() as conn:
                    await conn.execute(insert(orm.Node.__table__), rows)

            runner.run(write())
            assert runner.run(catalog.count(("bulk",))) == 50
            assert keys(runner, catalog, ("bulk",), q.Key("i") >= 47) == ["k47", "k48", "k49"]
            assert len(keys(runner, catalog, ("bulk",), q.Eq("even", True))) == 20
            assert keys(runner, catalog, ("bulk",), q.FullText("no i")) == [
                f"k{i}" for i in range(0, 50, 5)
            ]
            # nodes lacking "i" come last (here newest first, as the sort is descending);
            # the key counts tell how many there are
            ordered = keys(runner, catalog, ("bulk",), sorting=[("i", -1)])
            assert ordered[:2] == ["k49", "k48"]
            assert ordered[-10:] == [f"k{i}" for i in range(45, -1, -5)]
        finally:
            runner.run(catalog.close())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_uri(request, tmp_path):
    """A database with no tables at all (not cloned from the migrated template)."""
    if request.param == "sqlite":
        yield str(tmp_path / "old.db")
        return
    request.getfixturevalue("postgres_template")  # skips without PostgreSQL
    name = f"tiled_empty_{uuid.uuid4().hex[:12]}"
    asyncio.run(databases._execute(databases.admin_uri(), f'CREATE DATABASE "{name}"'))
    try:
        yield databases.database_uri(name)
    finally:
        databases.drop_database(name)


def _migrate(uri, action, revision):
    async def run():
        engine = create_engine(uri)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync: action(_alembic_config(sync), revision))
        finally:
            await engine.dispose()

    asyncio.run(run())


async def _insert_node(conn, parent_id, key, path, metadata="{}", specs="[]"):
    """A container node written in plain SQL, as a writer that knows nothing of the
    search tables would: only the triggers index it. Returns its id."""
    await conn.execute(
        text(
            "INSERT INTO nodes (parent_id, key, path, structure_family, metadata, specs) "
            "VALUES (:p, :k, :path, 'container', :m, :s)"
        ),
        {"p": parent_id, "k": key, "path": path, "m": metadata, "s": specs},
    )
    query = text("SELECT id FROM nodes WHERE path = :path")
    return (await conn.execute(query, {"path": path})).scalar()


def test_upgrading_a_catalog_indexes_what_it_holds(empty_uri):
    _migrate(empty_uri, command.upgrade, "0001")

    async def fill():
        engine = create_engine(empty_uri)
        try:
            async with engine.begin() as conn:
                old_id = await _insert_node(conn, 1, "old", "old")
                for i in range(5):
                    meta = json.dumps({"n": i, "words": f"word{i} shared", "deep": {"x": {"y": i}}})
                    specs = json.dumps([{"name": "S", "version": None}] if i < 2 else [])
                    await _insert_node(conn, old_id, f"c{i}", f"old/c{i}", meta, specs)
        finally:
            await engine.dispose()

    asyncio.run(fill())
    asyncio.run(initialize_database(empty_uri))  # to the current schema, indexing as it goes

    def check():
        with asyncio.Runner() as runner:
            catalog = runner.run(Catalog.connect(empty_uri))
            try:
                assert keys(runner, catalog, ("old",), q.Key("n") > 2) == ["c3", "c4"]
                assert keys(runner, catalog, ("old",), q.Eq("deep.x.y", 1)) == ["c1"]
                assert keys(runner, catalog, ("old",), q.FullText("shared word3")) == ["c3"]
                assert keys(runner, catalog, ("old",), q.Spec("S")) == ["c0", "c1"]
                assert keys(runner, catalog, ("old",), sorting=[("n", -1)])[0] == "c4"
                assert runner.run(catalog.lookup(("old",))).child_count == 5
                assert runner.run(catalog.count(())) == 1
            finally:
                runner.run(catalog.close())

    check()
    _migrate(empty_uri, command.downgrade, "0001")
    _migrate(empty_uri, command.upgrade, "head")
    check()


def test_0004_upgrade_and_downgrade_keep_the_index(empty_uri):
    """0004 lets the bulk writer write search rows itself on SQLite: a catalog filled at
    0003 and upgraded is searched alike, bulk and single writes after it are indexed,
    and after a downgrade the triggers index everything again."""
    from tiled.registration.model import Put
    from tiled.testing.entries import container_entry

    _migrate(empty_uri, command.upgrade, "0003")

    def write(catalog, runner, key, n):
        runner.run(
            catalog.create_node((), key=key, structure_family=CONTAINER, metadata={}, specs=[])
        )
        runner.run(
            catalog.create_node(
                (key,),
                key="one",
                structure_family=CONTAINER,
                metadata={"n": n, "w": f"single{n}"},
                specs=[],
            )
        )

    def check(runner, catalog, key, n):
        assert keys(runner, catalog, (key,), q.Eq("n", n)) == ["one"]
        assert keys(runner, catalog, (key,), q.FullText(f"single{n}")) == ["one"]

    def session(key, n, bulk):
        with asyncio.Runner() as runner:
            catalog = runner.run(Catalog.connect(empty_uri))
            try:
                write(catalog, runner, key, n)
                check(runner, catalog, key, n)
                if bulk:
                    entry = container_entry(("two",), {"n": n + 1, "w": f"bulk{n}"})
                    assert runner.run(catalog.apply((key,), [Put(entry)]))[0].ok
                    assert keys(runner, catalog, (key,), q.FullText(f"bulk{n}")) == ["two"]
                    assert runner.run(catalog.lookup((key,))).child_count == 2
            finally:
                runner.run(catalog.close())

    async def raw_write(key, n):
        engine = create_engine(empty_uri)
        try:
            async with engine.begin() as conn:
                parent = await _insert_node(conn, 1, key, key)
                metadata = json.dumps({"n": n, "w": f"single{n}"})
                await _insert_node(conn, parent, "one", f"{key}/one", metadata)
        finally:
            await engine.dispose()

    asyncio.run(raw_write("old", 1))  # indexed by 0003's triggers
    _migrate(empty_uri, command.upgrade, "head")
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(empty_uri))
        try:
            check(runner, catalog, "old", 1)
            # the bulk writer replaces rows 0003's triggers wrote
            entry = container_entry(("one",), {"n": 5, "w": "replaced"})
            assert runner.run(catalog.apply(("old",), [Put(entry, replace=True)]))[0].ok
            assert keys(runner, catalog, ("old",), q.Eq("n", 1)) == []
            assert keys(runner, catalog, ("old",), q.FullText("replaced")) == ["one"]
        finally:
            runner.run(catalog.close())
    session("new", 3, bulk=True)
    _migrate(empty_uri, command.downgrade, "0003")
    asyncio.run(raw_write("down", 7))  # indexed by 0003's triggers, restored
    if empty_uri.endswith(".db"):
        tables = asyncio.run(_tables(empty_uri))
        assert "search_writer" not in tables
    _migrate(empty_uri, command.upgrade, "head")
    session("again", 9, bulk=True)
    with asyncio.Runner() as runner:
        catalog = runner.run(Catalog.connect(empty_uri))
        try:
            check(runner, catalog, "down", 7)
            check(runner, catalog, "new", 3)
            assert keys(runner, catalog, ("new",), q.FullText("bulk3")) == ["two"]
        finally:
            runner.run(catalog.close())


async def _tables(uri):
    engine = create_engine(uri)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            return {row[0] for row in rows}
    finally:
        await engine.dispose()
