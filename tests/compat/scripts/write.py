"""Writing to the catalog: containers, ``new``/``register`` of external files, collisions,
metadata updates (JSON Patch, merge patch, replace, revisions) and deletion. Runs against a
fresh, empty server; checks run in order and build on each other."""

import os
import subprocess
from pathlib import Path

from _checks import check, main


def _data(ctx):
    return Path(ctx["data"])


def _scratch(ctx):
    return ctx.client()["scratch"]


def _npy_source(ctx, mimetype="application/x-npy", name="volume.npy"):
    from tiled.structures.array import ArrayStructure, BuiltinDtype
    from tiled.structures.core import StructureFamily
    from tiled.structures.data_source import Asset, DataSource, Management

    return DataSource(
        structure_family=StructureFamily.array,
        structure=ArrayStructure(
            data_type=BuiltinDtype.from_numpy_dtype(__import__("numpy").dtype("<i8")),
            shape=(2, 3, 4),
            chunks=((2,), (3,), (4,)),
        ),
        mimetype=mimetype,
        assets=[
            Asset(data_uri=(_data(ctx) / name).as_uri(), is_directory=False, parameter="data_uri")
        ],
        management=Management.external,
    )


@check
def create_container(ctx):
    node = ctx.client().create_container(
        "scratch", metadata={"color": "red", "n": 1}, specs=["ScratchSpec"]
    )
    again = ctx.client()["scratch"]
    return {
        "metadata": dict(again.metadata),
        "specs": [[s.name, s.version] for s in again.specs],
        "returned_metadata": dict(node.metadata),
        "len": len(again),
    }


@check
def create_container_collision(ctx):
    ctx.client().create_container("scratch")


@check
def create_container_server_key(ctx):
    node = _scratch(ctx).create_container(metadata={"auto": True})
    return {"key": node.item["id"], "listed": node.item["id"] in _scratch(ctx)}


@check
def new_with_key(ctx):
    from tiled.structures.core import StructureFamily

    node = _scratch(ctx).new(
        StructureFamily.array, [_npy_source(ctx)], key="arr", metadata={"a": 1}, specs=["S"]
    )
    return {"id": node.item["id"], "values": node.read(), "reread": _scratch(ctx)["arr"].read()}


@check
def new_server_assigned_key(ctx):
    from tiled.structures.core import StructureFamily

    node = _scratch(ctx).new(StructureFamily.array, [_npy_source(ctx)])
    return {"key": node.item["id"], "values": _scratch(ctx)[node.item["id"]].read()}


@check
def new_duplicate_key(ctx):
    from tiled.structures.core import StructureFamily

    _scratch(ctx).new(StructureFamily.array, [_npy_source(ctx)], key="arr")


@check
def new_unknown_mimetype(ctx):
    from tiled.structures.core import StructureFamily

    _scratch(ctx).new(StructureFamily.array, [_npy_source(ctx, "application/x-bogus")], key="bogus")


@check
def new_missing_parent(ctx):
    """A container deleted under a client that still holds it: registering into it fails."""
    from tiled.structures.core import StructureFamily

    doomed = ctx.client().create_container("doomed")
    ctx.client()["doomed"].delete()
    doomed.new(StructureFamily.array, [_npy_source(ctx)], key="x")


@check
def new_outside_readable(ctx):
    """Tiled 0.2.20 accepts this and fails on read; we refuse it (docs/compatibility.md)."""
    from tiled.structures.core import StructureFamily

    source = _npy_source(ctx)
    source.assets[0].data_uri = Path(__file__).resolve().as_uri()
    _scratch(ctx).new(StructureFamily.array, [source], key="outside")


@check
def new_missing_file(ctx):
    from tiled.structures.core import StructureFamily

    _scratch(ctx).new(StructureFamily.array, [_npy_source(ctx, name="nope.npy")], key="gone")


@check
def register_file(ctx):
    node = _scratch(ctx).register(_data(ctx) / "table.csv", key="table")
    return node.read()


@check
def register_sequence_without_key(ctx):
    files = sorted((_data(ctx) / "tiff_seq").iterdir())
    node = _scratch(ctx).register(*files)
    return {"key": node.item["id"], "shape": list(node.shape), "values": node.read()}


@check
def register_duplicate_key(ctx):
    _scratch(ctx).register(_data(ctx) / "table.csv", key="table")


@check
def update_metadata_patch(ctx):
    node = _scratch(ctx)
    node.update_metadata(metadata={"color": "blue", "added": [1, 2]}, specs=["ScratchSpec", "More"])
    fresh = ctx.client()["scratch"]
    return {
        "local": dict(node.metadata),
        "server": dict(fresh.metadata),
        "specs": [s.name for s in fresh.specs],
    }


@check
def update_metadata_remove_key(ctx):
    from tiled.client.metadata_update import DELETE_KEY

    node = _scratch(ctx)
    node.update_metadata(metadata={"n": DELETE_KEY})
    return {"local": dict(node.metadata), "server": dict(ctx.client()["scratch"].metadata)}


@check
def update_metadata_leaf(ctx):
    node = _scratch(ctx)["arr"]
    node.update_metadata(metadata={"a": 2, "nested": {"x": [1, {"y": None}]}})
    return dict(ctx.client()["scratch"]["arr"].metadata)


@check
def merge_patch(ctx):
    node = _scratch(ctx)
    node.patch_metadata(
        metadata_patch={"color": None, "merged": {"deep": 1}},
        content_type="application/merge-patch+json",
    )
    return {"local": dict(node.metadata), "server": dict(ctx.client()["scratch"].metadata)}


@check
def replace_metadata(ctx):
    node = _scratch(ctx)
    node.replace_metadata(metadata={"only": "this"}, specs=["Replaced"])
    fresh = ctx.client()["scratch"]
    return {
        "local": dict(node.metadata),
        "server": dict(fresh.metadata),
        "specs": [s.name for s in fresh.specs],
    }


@check
def metadata_revisions(ctx):
    revisions = _scratch(ctx).metadata_revisions
    items = revisions[:]
    return {
        "len": len(revisions),
        "numbers": [r["revision_number"] for r in items],
        "metadata": [r["attributes"]["metadata"] for r in items],
        "first": revisions[0]["attributes"]["metadata"],
        "time_updated": [type(r["attributes"]["time_updated"]).__name__ for r in items],
    }


@check
def refresh_sees_update(ctx):
    node = _scratch(ctx)
    other = ctx.client()["scratch"]
    other.update_metadata(metadata={"only": "this", "from": "other"})
    return dict(node.refresh().metadata)


@check
def walker(ctx):
    """``tiled register URI DIR`` (the official directory walker) against our server."""
    env = {**os.environ, "TILED_API_KEY": ctx["api_key"]}
    command = ["tiled", "register", "-v", ctx["url"], ctx["data"], "--prefix", "/walk"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    walk = ctx.client()["walk"]
    return {
        "returncode": done.returncode,
        "keys": sorted(walk),
        "tiff_seq": list(walk["tiff_seq"]) if "tiff_seq" in walk else None,
        "deeper": list(walk["sub"]["deeper"]) if "sub" in walk else None,
        "volume": walk["volume"].read() if "volume" in walk else None,
        "log": done.stderr[-3000:] + done.stdout[-3000:],
    }


@check
def delete_leaf(ctx):
    scratch = _scratch(ctx)
    scratch["arr"].delete()
    return {"present": "arr" in _scratch(ctx), "file_kept": (_data(ctx) / "volume.npy").exists()}


@check
def delete_contents_one_key(ctx):
    scratch = _scratch(ctx)
    scratch.delete_contents("table")
    return sorted(_scratch(ctx))


@check
def delete_missing(ctx):
    _scratch(ctx).delete_contents("nope")


@check
def delete_nonempty_container(ctx):
    ctx.client()["scratch"].delete()


@check
def delete_recursive(ctx):
    ctx.client()["scratch"].delete(recursive=True)
    return {"present": "scratch" in ctx.client(), "root": sorted(ctx.client())}


@check
def delete_contents_all(ctx):
    walk = ctx.client()["walk"]
    walk.delete_contents(recursive=True)
    return {"walk": sorted(ctx.client()["walk"]), "root": sorted(ctx.client())}


main()
