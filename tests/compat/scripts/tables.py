"""Reading tables: full reads, column selections, partitions, columns as arrays, dask and
exports, for CSV, Parquet (two files, two partitions) and Excel sheets."""

from _checks import check, main


def _table(ctx, key="csv"):
    return ctx.client()["manual"][key]


@check
def csv_read(ctx):
    return _table(ctx).read()


@check
def csv_read_columns(ctx):
    return _table(ctx).read(["a", "c"])


@check
def csv_read_partition(ctx):
    return _table(ctx).read_partition(0)


@check
def csv_read_partition_columns(ctx):
    return _table(ctx).read_partition(0, columns=["b"])


@check
def csv_columns(ctx):
    node = _table(ctx)
    return {"columns": list(node.columns), "iter": list(node)}


@check
def csv_column_as_array(ctx):
    column = _table(ctx)["b"]
    return {"family": str(column.structure_family.value), "values": column.read()}


@check
def csv_string_column(ctx):
    return _table(ctx)["c"].read().tolist()


@check
def csv_missing_column(ctx):
    _table(ctx)["nope"]


@check
def csv_dask(ctx):
    lazy = ctx.client("dask")["manual"]["csv"].read()
    return {"type": type(lazy).__name__, "values": lazy.compute()}


@check
def csv_dask_partition(ctx):
    return ctx.client("dask")["manual"]["csv"].read_partition(0).compute()


@check
def parquet_read(ctx):
    return _table(ctx, "pq").read()


@check
def parquet_partitions(ctx):
    node = _table(ctx, "pq")
    return {
        "npartitions": node.structure().npartitions,
        "p0": node.read_partition(0),
        "p1": node.read_partition(1, columns=["y"]),
    }


@check
def parquet_dask(ctx):
    return ctx.client("dask")["manual"]["pq"].read().compute()


@check
def excel_sheets(ctx):
    book = _table(ctx, "xlsx")
    return {"keys": list(book), "family": str(book.structure_family.value)}


@check
def excel_sheet_read(ctx):
    return _table(ctx, "xlsx")["Sheet1"].read()


def _export(ctx, node, name, **kwargs):
    path = ctx.workdir / name
    node.export(str(path), **kwargs)
    return path


@check
def export_csv(ctx):
    return _export(ctx, _table(ctx), "table.csv").read_text()


@check
def export_json(ctx):
    return _export(ctx, _table(ctx), "table.json", format="json").read_text()


@check
def export_parquet(ctx):
    import pandas

    return pandas.read_parquet(_export(ctx, _table(ctx), "table.parquet"))


@check
def export_columns(ctx):
    return _export(ctx, _table(ctx), "ab.csv", columns=["a", "b"]).read_text()


main()
