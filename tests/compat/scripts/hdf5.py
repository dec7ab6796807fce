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


@check
def h5_missing_child(ctx):
    _h5(ctx)["entry"]["nope"]


@check
def h5_search_by_key(ctx):
    from tiled.queries import KeyLookup

    return list(_h5(ctx).search(KeyLookup("top")))


main()
