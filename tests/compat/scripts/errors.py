"""Error cases: which exception the official client raises for each mistake."""

from _checks import check, main


def _arr(ctx):
    return ctx.client()["manual"]["arr"]


@check
def unknown_path(ctx):
    ctx.client()["does"]["not"]


@check
def unknown_nested_path(ctx):
    ctx.client()["does/not/exist"]


@check
def unknown_path_in_from_uri(ctx):
    from tiled.client import from_uri

    from_uri(f"{ctx['url']}/api/v1/metadata/does/not", api_key=ctx["api_key"])


@check
def index_out_of_range(ctx):
    _arr(ctx)[10]


@check
def negative_index_out_of_range(ctx):
    _arr(ctx)[0, -4]


@check
def too_many_indices(ctx):
    _arr(ctx)[0, 0, 0, 0]


@check
def block_out_of_range(ctx):
    _arr(ctx).read_block((1, 0, 0))


@check
def block_wrong_ndim(ctx):
    _arr(ctx).read_block((0, 0))


@check
def block_slice_out_of_range(ctx):
    import numpy

    _arr(ctx).read_block((0, 0, 0), slice=numpy.s_[5])


@check
def partition_out_of_range(ctx):
    ctx.client()["manual"]["csv"].read_partition(3)


@check
def unknown_column_read(ctx):
    ctx.client()["manual"]["csv"].read(["nope"])


@check
def unknown_column_partition(ctx):
    ctx.client()["manual"]["csv"].read_partition(0, columns=["nope"])


@check
def unsupported_export_format(ctx):
    _arr(ctx).export(str(ctx.workdir / "arr.gif"), format="image/gif")


@check
def wrong_key_then_browse(ctx):
    """A key changed after connecting: the next request is refused with 401."""
    client = ctx.client()
    client.context.api_key = "wrongkey"
    try:
        list(client["many"])
    finally:
        client.context.api_key = ctx["api_key"]


@check
def write_on_public_server_without_key(ctx):
    from tiled.client import from_uri

    from_uri(ctx["public_url"])["many"]["n001"].update_metadata({"x": 1})


@check
def delete_inside_a_file(ctx):
    ctx.client()["manual"]["h5"]["entry"].delete()


@check
def write_array_is_refused(ctx):
    """This server keeps no data of its own: internally managed nodes are refused (400)."""
    import numpy

    ctx.client()["many"].write_array(numpy.zeros(3), key="written")


@check
def search_deep_without_link(ctx):
    from tiled.queries import Key

    ctx.client()["many"].search_deep(Key("color") == "red")


@check
def filter_value_not_json(ctx):
    """What the client never sends, through its own HTTP connection: a raw filter value."""
    client = ctx.client()
    response = client.context.http_client.get(
        client["many"].item["links"]["search"],
        params={"filter[eq][condition][key]": "color", "filter[eq][condition][value]": "red"},
        headers={"Accept": "application/json"},
    )
    return {"status": response.status_code, "detail": response.json()["detail"]}


main()
