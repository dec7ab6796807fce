"""HDF5 files as containers: groups, nested paths, metadata, big-endian and scalar data."""

from _checks import check, main


def _h5(ctx):
    return ctx.client()["manual"]["h5"]


@check
def h5_keys(ctx):
    return list(_h5(ctx))


@check
def h5_metadata(ctx):
    return dict(_h5(ctx).metadata)


@check
def h5_len(ctx):
    return len(_h5(ctx))


@check
def h5_items(ctx):
    return [[key, str(node.structure_family.value)] for key, node in _h5(ctx).items()]


@check
def h5_group(ctx):
    group = _h5(ctx)["entry"]
    return {
        "keys": list(group),
        "metadata": dict(group.metadata),
        "family": str(group.structure_family.value),
    }


@check
def h5_nested_group(ctx):
    group = _h5(ctx)["entry"]["data"]
    return {"keys": list(group), "len": len(group)}


@check
def h5_nested_path(ctx):
    node = _h5(ctx)["entry/data/counts"]
    structure = node.structure()
    return {
        "values": node.read(),
        "slice": node[2:4, ::3],
        "metadata": dict(node.metadata),
        "chunks": [list(c) for c in structure.chunks],
        "block": node.read_block((1, 0)),
    }


@check
def h5_path_from_root(ctx):
    return ctx.client()["manual/h5/entry/data/counts"][9]


@check
def h5_scalar(ctx):
    node = _h5(ctx)["entry"]["data"]["scalar"]
    return {"values": node.read(), "shape": list(node.shape)}


@check
def h5_big_endian(ctx):
    node = _h5(ctx)["top"]
    return {
        "values": node.read(),
        "dtype": node.structure().data_type.to_numpy_dtype().str,
        "endianness": node.item["attributes"]["structure"]["data_type"]["endianness"],
        "slice": node[1, 1:],
    }


@check
def h5_dask(ctx):
    return ctx.client("dask")["manual"]["h5"]["entry"]["data"]["counts"].read().compute()


def _export(ctx, node, name, **kwargs):
    path = ctx.workdir / name
    node.export(str(path), **kwargs)
    return path


@check
def h5_export_hdf5(ctx):
    """``container.export("x.h5")``: the whole file's data through ``/container/full``."""
    import h5py

    with h5py.File(_export(ctx, _h5(ctx), "h5.h5"), "r") as file:
        counts = file["entry/data/counts"]
        return {
            "keys": sorted(file),
            "title": str(file.attrs["title"]),
            "counts": counts[()],
            "units": str(counts.attrs["units"]),
            "top": file["top"][()],
            "top_dtype": file["top"].dtype.str,
        }


@check
def h5_export_json(ctx):
    import json

    return json.loads(_export(ctx, _h5(ctx), "h5.json", format="json").read_text())


@check
def h5_export_fields(ctx):
    import json

    path = _export(ctx, _h5(ctx), "top.json", format="json", fields=["top"])
    return json.loads(path.read_text())


@check
def catalog_container_export_json(ctx):
    import json

    path = _export(ctx, ctx.client()["many"]["n001"], "n001.json", format="json")
    return json.loads(path.read_text())


@check
def h5_missing_child(ctx):
    _h5(ctx)["entry"]["nope"]


@check
def h5_search_by_key(ctx):
    from tiled.queries import KeyLookup

    return list(_h5(ctx).search(KeyLookup("top")))


main()
