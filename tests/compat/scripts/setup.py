"""Builds the served tree through the official client: the documented example verbatim
(issue 2), ``register()`` of every format into ``manual/``, ``new()`` with hand-written
data sources (as the captures show), and the 120-node ``many/`` container.

Each registration is its own check, so one unsupported format does not hide the others.
"""

from pathlib import Path

from _checks import check, main


def _data(ctx):
    return Path(ctx["data"])


@check
def documented_example(ctx):
    """Issue 2's example, verbatim but for the paths (and for the key it keeps)."""
    import numpy

    from tiled.client import from_uri
    from tiled.structures.array import ArrayStructure, BuiltinDtype
    from tiled.structures.core import StructureFamily
    from tiled.structures.data_source import Asset, DataSource, Management

    example = ctx["example"]
    client = from_uri(ctx["url"], api_key=ctx["api_key"])
    structure = ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(numpy.dtype("int32")),
        shape=(2, 512, 512),
        chunks=((1, 1), (512,), (512,)),
        dims=("time", "x", "y"),  # optional
    )
    node = client.new(
        structure_family=StructureFamily.array,
        data_sources=[
            DataSource(
                management=Management.external,
                mimetype="multipart/related;type=image/tiff",
                structure_family=StructureFamily.array,
                structure=structure,
                assets=[
                    Asset(
                        data_uri=f"file://{example}/image1.tiff",
                        is_directory=False,
                        parameter="data_uri",
                        num=1,
                    ),
                    Asset(
                        data_uri=f"file://{example}/image2.tiff",
                        is_directory=False,
                        parameter="data_uri",
                        num=2,
                    ),
                ],
            ),
        ],
        metadata={},
        specs=[],
    )
    return node.item["id"]


@check
def create_manual(ctx):
    node = ctx.client().create_container(
        "manual", metadata={"purpose": "compat", "nested": {"level": 1}}, specs=["ManualSpec"]
    )
    return {
        "id": node.item["id"],
        "metadata": dict(node.metadata),
        "specs": [s.name for s in node.specs],
    }


def _register(ctx, key, *names, **kwargs):
    node = ctx.client()["manual"].register(*(_data(ctx) / n for n in names), key=key, **kwargs)
    return {"key": node.item["id"], "family": str(node.structure_family)}


@check
def register_image(ctx):
    return _register(ctx, "image", "image.tif")


@check
def register_seq(ctx):
    names = sorted(p.name for p in (_data(ctx) / "tiff_seq").iterdir())
    return _register(ctx, "seq", *(f"tiff_seq/{n}" for n in names))


@check
def register_h5(ctx):
    return _register(ctx, "h5", "nested.h5")


@check
def register_csv(ctx):
    return _register(ctx, "csv", "table.csv")


@check
def register_pq(ctx):
    return _register(ctx, "pq", "part0.parquet", "part1.parquet")


@check
def register_arr(ctx):
    return _register(ctx, "arr", "volume.npy", metadata={"color": "blue"})


@check
def register_zarr(ctx):
    return _register(ctx, "zarr", "store.zarr")


@check
def register_xlsx(ctx):
    return _register(ctx, "xlsx", "sheet.xlsx")


@check
def new_npy(ctx):
    """``new()`` with an explicit data source, the body of register-npy-new.json."""
    from tiled.structures.array import ArrayStructure, BuiltinDtype
    from tiled.structures.core import StructureFamily
    from tiled.structures.data_source import Asset, DataSource, Management

    structure = ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(__import__("numpy").dtype("<f8")),
        shape=(5,),
        chunks=((5,),),
        dims=("t",),
    )
    uri = (_data(ctx) / "sub" / "deeper" / "small.npy").as_uri()
    node = ctx.client()["manual"].new(
        StructureFamily.array,
        [
            DataSource(
                structure_family=StructureFamily.array,
                structure=structure,
                mimetype="application/x-npy",
                assets=[Asset(data_uri=uri, is_directory=False, parameter="data_uri")],
                management=Management.external,
            )
        ],
        key="small",
        metadata={"origin": "new"},
        specs=["NpySpec"],
    )
    return {"key": node.item["id"], "links": node.item["links"]}


@check
def new_netcdf(ctx):
    """A NetCDF file through ``new()`` with a container data source (the client's own
    ``register()`` cannot open .nc files in 0.2.20: its NetCDFAdapter has no from_uris)."""
    from tiled.structures.core import StructureFamily
    from tiled.structures.data_source import Asset, DataSource, Management

    uri = (_data(ctx) / "sample.nc").as_uri()
    node = ctx.client()["manual"].new(
        StructureFamily.container,
        [
            DataSource(
                structure_family=StructureFamily.container,
                structure=None,
                mimetype="application/x-netcdf",
                assets=[Asset(data_uri=uri, is_directory=False, parameter="data_uri")],
                management=Management.external,
            )
        ],
        key="nc",
        metadata={"origin": "new"},
    )
    family = node.structure_family
    return {"key": node.item["id"], "family": str(getattr(family, "value", family))}


@check
def create_many(ctx):
    many = ctx.client().create_container("many", metadata={"count": len(ctx["many"])})
    for item in ctx["many"]:
        many.create_container(item["key"], metadata=item["metadata"], specs=item["specs"])
    return len(ctx["many"])


main()
