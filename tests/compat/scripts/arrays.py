"""Reading arrays: full reads, numpy-style slices, blocks, dask and exports, for TIFF,
TIFF sequences, NPY, Zarr and the documented example."""

from _checks import check, main


def _arr(ctx, key="arr"):
    return ctx.client()["manual"][key]


@check
def npy_read(ctx):
    return _arr(ctx).read()


@check
def npy_int_index(ctx):
    return _arr(ctx)[1]


@check
def npy_int_and_slice(ctx):
    return _arr(ctx)[0, 1:3]


@check
def npy_step_and_negative_index(ctx):
    return _arr(ctx)[:, ::2, -1]


@check
def npy_ellipsis(ctx):
    return _arr(ctx)[..., 0]


@check
def npy_negative_slice_bounds(ctx):
    return _arr(ctx)[-1:, -2:, 1:-1]


@check
def npy_read_with_slice(ctx):
    import numpy

    return _arr(ctx).read(slice=numpy.s_[1, :, 2:])


@check
def npy_read_block(ctx):
    return _arr(ctx).read_block((0, 0, 0))


@check
def npy_read_block_slice(ctx):
    import numpy

    return _arr(ctx).read_block((0, 0, 0), slice=numpy.s_[1, :2])


@check
def npy_dask(ctx):
    node = ctx.client("dask")["manual"]["arr"]
    lazy = node.read()
    return {"type": type(lazy).__name__, "values": lazy.compute(), "slice": node[1, 1:].compute()}


@check
def tiff_read(ctx):
    return _arr(ctx, "image").read()


@check
def tiff_slice(ctx):
    return _arr(ctx, "image")[2:5, ::3]


@check
def tiff_structure(ctx):
    node = _arr(ctx, "image")
    structure = node.structure()
    return {
        "shape": list(structure.shape),
        "chunks": [list(c) for c in structure.chunks],
        "dtype": structure.data_type.to_numpy_dtype().str,
        "description": node.metadata.get("ImageDescription"),
    }


@check
def seq_read(ctx):
    return _arr(ctx, "seq").read()


@check
def seq_slice(ctx):
    return _arr(ctx, "seq")[1:, 2, ::2]


@check
def seq_blocks(ctx):
    node = _arr(ctx, "seq")
    return [node.read_block((i, 0, 0)) for i in range(3)]


@check
def seq_block_slice(ctx):
    import numpy

    return _arr(ctx, "seq").read_block((2, 0, 0), slice=numpy.s_[0, 3:5])


@check
def seq_structure(ctx):
    structure = _arr(ctx, "seq").structure()
    return {
        "shape": list(structure.shape),
        "chunks": [list(c) for c in structure.chunks],
        "dtype": structure.data_type.to_numpy_dtype().str,
    }


@check
def seq_dask(ctx):
    return ctx.client("dask")["manual"]["seq"].read().compute()


@check
def zarr_read(ctx):
    return _arr(ctx, "zarr").read()


@check
def zarr_blocks(ctx):
    node = _arr(ctx, "zarr")
    return {
        "chunks": [list(c) for c in node.structure().chunks],
        "block_1_0": node.read_block((1, 0)),
        "block_0_1": node.read_block((0, 1)),
    }


@check
def zarr_slice(ctx):
    return _arr(ctx, "zarr")[3:6, 1::2]


@check
def documented_example_read(ctx):
    node = ctx.client()[ctx["example_key"]]
    return {
        "full": node.read(),
        "part": node[1, 100:110, :],
        "dims": list(node.structure().dims),
        "dtype": node.dtype.str,
    }


def _export(ctx, node, name, **kwargs):
    path = ctx.workdir / name
    node.export(str(path), **kwargs)
    return path.read_text()


@check
def export_json(ctx):
    return _export(ctx, _arr(ctx), "arr.json", format="json")


@check
def export_json_media_type(ctx):
    return _export(ctx, _arr(ctx), "arr.txt", format="application/json")


@check
def export_csv_2d(ctx):
    return _export(ctx, _arr(ctx, "image"), "image.csv")


@check
def export_csv_slice(ctx):
    import numpy

    return _export(ctx, _arr(ctx), "slice.csv", format="csv", slice=numpy.s_[0])


main()
