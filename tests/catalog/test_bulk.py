"""Catalog.apply and Catalog.registered_under: many changes in one transaction, and the
fingerprints of a subtree, on real SQLite and PostgreSQL."""

import asyncio
import os

import pytest
from sqlalchemy import text

from tiled.catalog import Catalog
from tiled.errors import NotFoundError
from tiled.queries import Eq, FullText
from tiled.registration.model import Put, Remove
from tiled.structures.core import StructureFamily
from tiled.testing.entries import container_entry, file_entry, write_csv, write_hdf5, write_tiff


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    return {
        "t1": write_tiff(data / "t1.tiff", 1),
        "t2": write_tiff(data / "t2.tiff", 2),
        "csv": write_csv(data / "table.csv"),
        "h5": write_hdf5(data / "scan.h5"),
    }


def run(catalog_uri, body):
    async def main():
        catalog = await Catalog.connect(catalog_uri)
        try:
            await catalog.create_node(
                (), key="top", structure_family=StructureFamily.container, metadata={}, specs=[]
            )
            return await body(catalog)
        finally:
            await catalog.close()

    return asyncio.run(main())


async def listed(catalog, prefix=("top",)):
    return [r async for r in catalog.registered_under(prefix)]


def test_create_nested_then_list_fingerprints(catalog_uri, files):
    async def body(catalog):
        outcomes = await catalog.apply(
            ("top",),
            [
                Put(container_entry(("raw",), {"kind": "directory"})),
                Put(file_entry(("raw", "t1"), [files["t1"]], "image/tiff", metadata={"n": 1})),
                Put(
                    file_entry(
                        ("raw", "seq"),
                        [files["t1"], files["t2"]],
                        "multipart/related;type=image/tiff",
                    )
                ),
                Put(file_entry(("table",), [files["csv"]], "text/csv")),
                Put(file_entry(("scan",), [files["h5"]], "application/x-hdf5")),
            ],
        )
        assert all(o.ok for o in outcomes), outcomes
        registered = await listed(catalog)
        assert [r.key_path for r in registered] == [
            ("raw",),
            ("raw", "seq"),
            ("raw", "t1"),
            ("scan",),
            ("table",),
        ]
        by_key = {r.key_path: r for r in registered}
        assert by_key[("raw",)].fingerprint == ()
        assert by_key[("raw",)].structure_family == StructureFamily.container
        stat = os.stat(files["t1"])
        assert by_key[("raw", "t1")].fingerprint == (
            (files["t1"].resolve().as_uri(), stat.st_size, stat.st_mtime_ns),
        )
        assert len(by_key[("raw", "seq")].fingerprint) == 2
        node = await catalog.lookup(("top", "raw", "seq"))
        assert [a.num for a in node.data_sources[0].assets] == [0, 1]
        assert node.data_sources[0].assets[0].size == stat.st_size
        # the search index saw the new nodes (triggers ran)
        found = await catalog.search(("top", "raw"), queries=[Eq("n", 1)])
        assert [r.key for r in found] == ["t1"]
        assert await catalog.count(("top",)) == 3

    run(catalog_uri, body)


def test_refusals_fail_alone(catalog_uri, files):
    async def body(catalog):
        tiff = file_entry(("a",), [files["t1"]], "image/tiff")
        assert (await catalog.apply(("top",), [Put(tiff)]))[0].ok
        outcomes = await catalog.apply(
            ("top",),
            [
                Put(file_entry(("a",), [files["t2"]], "image/tiff")),  # taken
                Put(file_entry(("b",), [files["t2"]], "image/tiff")),
                Put(file_entry(("nope", "c"), [files["t2"]], "image/tiff")),  # no parent
                Put(file_entry(("a", "d"), [files["t2"]], "image/tiff")),  # parent is an array
                Put(container_entry(("bad/key",))),
                Remove(("missing",)),
                Put(container_entry(("e",))),
            ],
        )
        assert [(o.ok, o.status) for o in outcomes] == [
            (False, 409),
            (True, None),
            (False, 404),
            (False, 405),
            (False, 400),
            (False, 404),
            (True, None),
        ]
        assert "already exists" in outcomes[0].message
        assert "/top/nope" in outcomes[2].message
        assert [r.key_path for r in await listed(catalog)] == [("a",), ("b",), ("e",)]
        with pytest.raises(NotFoundError, match="prefix /missing does not exist"):
            await catalog.apply(("missing",), [Put(container_entry(("x",)))])

    run(catalog_uri, body)


def test_replace_in_place_keeps_children_and_updates_index(catalog_uri, files):
    async def body(catalog):
        await catalog.apply(
            ("top",),
            [
                Put(container_entry(("dir",), {"label": "old words"})),
                Put(file_entry(("dir", "x"), [files["t1"]], "image/tiff")),
                Put(file_entry(("y",), [files["t1"]], "image/tiff", metadata={"v": 1})),
            ],
        )
        before = await catalog.lookup(("top", "y"))
        outcomes = await catalog.apply(
            ("top",),
            [
                Put(container_entry(("dir",), {"label": "new words"}), replace=True),
                Put(
                    file_entry(("y",), [files["csv"]], "text/csv", metadata={"v": 2}), replace=True
                ),
                Put(file_entry(("z",), [files["t2"]], "image/tiff"), replace=True),  # new
            ],
        )
        assert all(o.ok for o in outcomes), outcomes
        after = await catalog.lookup(("top", "y"))
        assert after.id == before.id
        assert after.time_created == before.time_created
        assert after.structure_family == StructureFamily.table
        assert after.data_sources[0].assets[0].data_uri.endswith("table.csv")
        assert [r.key for r in await catalog.search(("top",), queries=[Eq("v", 2)])] == ["y"]
        assert await catalog.search(("top",), queries=[Eq("v", 1)]) == []
        hits = await catalog.search(("top",), queries=[FullText("new")])
        assert [r.key for r in hits] == ["dir"]
        assert [r.key_path for r in await listed(catalog)] == [
            ("dir",),
            ("dir", "x"),
            ("y",),
            ("z",),
        ]
        # replacing a container that has children by an array is refused
        refused = await catalog.apply(
            ("top",), [Put(file_entry(("dir",), [files["t1"]], "image/tiff"), replace=True)]
        )
        assert refused[0].status == 409
        assert "children" in refused[0].message

    run(catalog_uri, body)


def test_remove_subtree_and_reuse_key_in_one_batch(catalog_uri, files):
    async def body(catalog):
        await catalog.apply(
            ("top",),
            [
                Put(container_entry(("d",))),
                Put(container_entry(("d", "e"))),
                Put(file_entry(("d", "e", "f"), [files["t1"]], "image/tiff")),
                Put(file_entry(("keep",), [files["t2"]], "image/tiff")),
            ],
        )
        outcomes = await catalog.apply(
            ("top",),
            [
                Remove(("d",)),
                Put(file_entry(("d", "e", "g"), [files["t1"]], "image/tiff")),  # parent gone
                Put(container_entry(("d",))),  # the key is free again
                Put(file_entry(("d", "f"), [files["t1"]], "image/tiff")),
            ],
        )
        assert [(o.ok, o.status) for o in outcomes] == [
            (True, None),
            (False, 404),
            (True, None),
            (True, None),
        ]
        assert [r.key_path for r in await listed(catalog)] == [("d",), ("d", "f"), ("keep",)]
        assert await catalog.count(("top", "d")) == 1
        await catalog.apply(("top",), [Remove(("keep",)), Remove(("d",))])
        assert await listed(catalog) == []
        assert await catalog.count(("top",)) == 0

    run(catalog_uri, body)


def test_registered_under_pages_through_many_nodes(catalog_uri, files):
    async def body(catalog):
        changes = [Put(container_entry(("many",)))]
        changes += [
            Put(file_entry(("many", f"n{i:04d}"), [files["t1"]], "image/tiff")) for i in range(30)
        ]
        assert all(o.ok for o in await catalog.apply(("top",), changes))
        from tiled.catalog.fingerprints import registered_under

        found = [r async for r in registered_under(catalog.connections, ("top",), page_size=7)]
        assert len(found) == 31
        assert found[0].key_path == ("many",)
        assert [r.key_path[1] for r in found[1:]] == [f"n{i:04d}" for i in range(30)]
        everything = await listed(catalog, ())
        assert everything[0].key_path == ("top",)
        assert len(everything) == 32

    run(catalog_uri, body)


def test_replace_with_unchanged_metadata_keeps_the_index(catalog_uri, files):
    async def body(catalog):
        entry = file_entry(("k",), [files["t1"]], "image/tiff", metadata={"sample": "Ni"})
        await catalog.apply(("top",), [Put(entry)])
        before = await catalog.lookup(("top", "k"))
        again = file_entry(("k",), [files["t2"]], "image/tiff", metadata={"sample": "Ni"})
        assert (await catalog.apply(("top",), [Put(again, replace=True)]))[0].ok
        after = await catalog.lookup(("top", "k"))
        assert after.time_updated >= before.time_updated
        assert after.data_sources[0].assets[0].data_uri.endswith("t2.tiff")
        found = await catalog.search(("top",), queries=[Eq("sample", "Ni")])
        assert [r.key for r in found] == ["k"]
        assert await catalog.count(("top",), queries=[FullText("ni")]) == 1

    run(catalog_uri, body)


_REFUSE_BAD = {
    "sqlite": [
        "CREATE TRIGGER test_refuse_bad BEFORE INSERT ON nodes WHEN NEW.key = 'bad' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION test_refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.key = 'bad' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER test_refuse_bad BEFORE INSERT ON nodes FOR EACH ROW "
        "EXECUTE FUNCTION test_refuse_bad()",
    ],
}


def test_a_change_the_database_refuses_fails_alone(catalog_uri, files):
    """Planning cannot foresee everything (here: a rule of the database's own, a trigger
    the test adds); the run is replayed one change per savepoint so that only the culprit
    fails."""

    async def body(catalog):
        async with catalog.engine.begin() as conn:
            for statement in _REFUSE_BAD[conn.dialect.name]:
                await conn.execute(text(statement))
        outcomes = await catalog.apply(
            ("top",),
            [
                Put(file_entry(("good1",), [files["t1"]], "image/tiff", metadata={"s": "a"})),
                Put(file_entry(("bad",), [files["t2"]], "image/tiff", metadata={"s": "b"})),
                Put(container_entry(("good2",))),
                Put(file_entry(("good2", "child"), [files["t1"]], "image/tiff")),
            ],
        )
        assert [o.ok for o in outcomes] == [True, False, True, True], outcomes
        assert outcomes[1].status in (400, 409)
        assert "refused by the test" in outcomes[1].message
        keys = [r.key_path for r in await listed(catalog)]
        assert keys == [("good1",), ("good2",), ("good2", "child")]
        assert await catalog.count(("top",)) == 2
        # the search rows of the replayed changes were written once, and none of "bad"
        assert [r.key for r in await catalog.search(("top",), queries=[FullText("a")])] == ["good1"]
        assert await catalog.count(("top",), queries=[FullText("b")]) == 0
        assert await catalog.count(("top",), queries=[Eq("s", "a")]) == 1

    run(catalog_uri, body)


@pytest.mark.parametrize(
    "metadata", [{"x": float("nan")}, {"x": {"y": [float("inf")]}}, {"x": "\ud800"}]
)
def test_metadata_json_cannot_hold_is_refused_alone(catalog_uri, files, metadata):
    async def body(catalog):
        outcomes = await catalog.apply(
            ("top",),
            [
                Put(file_entry(("good",), [files["t1"]], "image/tiff")),
                Put(file_entry(("bad",), [files["t2"]], "image/tiff", metadata=metadata)),
            ],
        )
        assert [o.ok for o in outcomes] == [True, False], outcomes
        assert outcomes[1].status == 400
        assert "bad" in outcomes[1].message
        assert [r.key_path for r in await listed(catalog)] == [("good",)]

    run(catalog_uri, body)
