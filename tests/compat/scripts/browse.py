"""Browsing: containers as mappings, key views and their slices, node attributes."""

from _checks import check, main


def _many(ctx):
    return ctx.client()["many"]


@check
def len_many(ctx):
    return len(_many(ctx))


@check
def list_many(ctx):
    """Iteration follows ``links.next`` across pages (120 children, 100 per page)."""
    return list(_many(ctx))


@check
def contains(ctx):
    many = _many(ctx)
    return {"present": "n001" in many, "absent": "nope" in many}


@check
def getitem_key(ctx):
    node = _many(ctx)["n007"]
    return {"metadata": dict(node.metadata), "family": str(node.structure_family.value)}


@check
def getitem_nested_path(ctx):
    return dict(ctx.client()["many/n008"].metadata)


@check
def getitem_tuple(ctx):
    return dict(ctx.client()["many", "n009"].metadata)


@check
def getitem_chained(ctx):
    return dict(ctx.client()["many"]["n010"].metadata)


@check
def getitem_missing(ctx):
    _many(ctx)["nope"]


@check
def getitem_missing_nested(ctx):
    ctx.client()["many/nope/deeper"]


@check
def keys_slice(ctx):
    return _many(ctx).keys()[2:5]


@check
def keys_first(ctx):
    return _many(ctx).keys().first()


@check
def keys_last(ctx):
    return _many(ctx).keys().last()


@check
def keys_head(ctx):
    return list(_many(ctx).keys().head(3))


@check
def keys_tail(ctx):
    return list(_many(ctx).keys().tail(3))


@check
def keys_negative_index(ctx):
    return _many(ctx).keys()[-2]


@check
def keys_index(ctx):
    return _many(ctx).keys()[105]


@check
def keys_slice_across_pages(ctx):
    return _many(ctx).keys()[95:105]


@check
def items_slice(ctx):
    return [[key, dict(node.metadata)] for key, node in _many(ctx).items()[10:13]]


@check
def values_first(ctx):
    return dict(_many(ctx).values().first().metadata)


@check
def values_last(ctx):
    return dict(_many(ctx).values().last().metadata)


@check
def root_listing(ctx):
    return list(ctx.client())


@check
def manual_listing(ctx):
    return list(ctx.client()["manual"])


@check
def container_attributes(ctx):
    node = ctx.client()["manual"]
    return {
        "metadata": dict(node.metadata),
        "specs": [[s.name, s.version] for s in node.specs],
        "family": str(node.structure_family.value),
        "formats": list(node.formats),
        "structure": node.item["attributes"]["structure"],
        "sorting": node.item["attributes"]["sorting"],
    }


@check
def array_attributes(ctx):
    node = ctx.client()["manual"]["arr"]
    structure = node.structure()
    return {
        "metadata": dict(node.metadata),
        "specs": [s.name for s in node.specs],
        "family": str(node.structure_family.value),
        "shape": list(structure.shape),
        "chunks": [list(c) for c in structure.chunks],
        "dims": structure.dims,
        "dtype": structure.data_type.to_numpy_dtype().str,
        "node_shape": list(node.shape),
        "node_dtype": node.dtype.str,
        "formats": list(node.formats),
        "repr": repr(node),
    }


@check
def new_array_attributes(ctx):
    node = ctx.client()["manual"]["small"]
    return {
        "metadata": dict(node.metadata),
        "specs": [s.name for s in node.specs],
        "dims": list(node.structure().dims),
    }


@check
def table_attributes(ctx):
    node = ctx.client()["manual"]["csv"]
    structure = node.structure()
    return {
        "family": str(node.structure_family.value),
        "columns": list(structure.columns),
        "npartitions": structure.npartitions,
        "arrow_names": list(structure.arrow_schema_decoded.names),
        "node_columns": list(node.columns),
        "formats": list(node.formats),
    }


@check
def data_sources(ctx):
    node = ctx.client()["manual"]["arr"]
    return [
        {
            "mimetype": ds.mimetype,
            "structure_family": str(getattr(ds.structure_family, "value", ds.structure_family)),
            "shape": ds.structure["shape"],
            "assets": [[a.data_uri, a.is_directory, a.parameter, a.num] for a in ds.assets],
        }
        for ds in node.data_sources()
    ]


@check
def data_sources_on_listing(ctx):
    """``include_data_sources`` on a whole listing (search with data sources)."""
    from tiled.client import from_uri

    client = from_uri(ctx["url"], api_key=ctx["api_key"], include_data_sources=True)
    return {key: len(node.data_sources()) for key, node in client["manual"].items()}


main()
