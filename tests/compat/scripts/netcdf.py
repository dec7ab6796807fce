"""NetCDF files as containers: variables, dims, attributes, slices and export."""

from _checks import check, main


def _nc(ctx):
    return ctx.client()["manual"]["nc"]


@check
def nc_keys(ctx):
    return sorted(_nc(ctx))


@check
def nc_metadata(ctx):
    return dict(_nc(ctx).metadata)


@check
def nc_variable(ctx):
    node = _nc(ctx)["temp"]
    return {
        "values": node.read(),
        "slice": node[1:, ::2],
        "dims": list(node.structure().dims),
        "dtype": node.dtype.str,
        "metadata": dict(node.metadata),
    }


@check
def nc_coordinate(ctx):
    return _nc(ctx)["time"].read()


@check
def nc_dask(ctx):
    return ctx.client("dask")["manual"]["nc"]["temp"].read().compute()


@check
def nc_export_hdf5(ctx):
    import h5py

    path = ctx.workdir / "nc.h5"
    _nc(ctx).export(str(path))
    with h5py.File(path, "r") as file:
        return {
            "keys": sorted(file),
            "temp": file["temp"][()],
            "origin": str(file.attrs["origin"]),
            "units": str(file["temp"].attrs["units"]),
        }


main()
