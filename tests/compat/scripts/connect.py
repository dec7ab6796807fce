"""Connecting: every way the official client takes an API key and a URI."""

import os

from _checks import check, main


def _from_uri(*args, **kwargs):
    from tiled.client import from_uri

    return from_uri(*args, **kwargs)


@check
def api_key_kwarg(ctx):
    client = _from_uri(ctx["url"], api_key=ctx["api_key"])
    return sorted(client)


@check
def env_tiled_api_key(ctx):
    os.environ["TILED_API_KEY"] = ctx["api_key"]
    return sorted(_from_uri(ctx["url"]))


@check
def api_key_in_uri(ctx):
    return sorted(_from_uri(f"{ctx['url']}?api_key={ctx['api_key']}"))


@check
def uri_with_api_v1(ctx):
    return sorted(_from_uri(f"{ctx['url']}/api/v1", api_key=ctx["api_key"]))


@check
def uri_with_api(ctx):
    return sorted(_from_uri(f"{ctx['url']}/api", api_key=ctx["api_key"]))


@check
def subpath_uri(ctx):
    node = _from_uri(f"{ctx['url']}/api/v1/metadata/many/n003", api_key=ctx["api_key"])
    return {
        "keys": list(node),
        "metadata": dict(node.metadata),
        "specs": [s.name for s in node.specs],
    }


@check
def subpath_uri_to_array(ctx):
    node = _from_uri(f"{ctx['url']}/api/v1/metadata/manual/arr", api_key=ctx["api_key"])
    return node.read()


@check
def wrong_key(ctx):
    _from_uri(ctx["url"], api_key="wrongkey")


@check
def wrong_key_in_env(ctx):
    os.environ["TILED_API_KEY"] = "wrongkey"
    _from_uri(ctx["url"])


@check
def key_with_a_dash(ctx):
    """The official client only sends keys matching \\w+; others count as no key at all."""
    _from_uri(ctx["url"], api_key="has-a-dash")


@check
def no_key(ctx):
    _from_uri(ctx["url"])


@check
def public_server_without_key(ctx):
    client = _from_uri(ctx["public_url"])
    return {"keys": sorted(client), "arr": client["manual"]["arr"].read()}


@check
def public_server_write_without_key(ctx):
    _from_uri(ctx["public_url"]).create_container("never")


@check
def public_server_write_with_key(ctx):
    client = _from_uri(ctx["public_url"], api_key=ctx["api_key"])
    node = client["manual"].create_container("made_on_public")
    node.delete()
    return "made_on_public" in client["manual"]


@check
def dask_client(ctx):
    client = _from_uri(ctx["url"], "dask", api_key=ctx["api_key"])
    lazy = client["manual"]["arr"].read()
    return {"type": type(lazy).__module__ + "." + type(lazy).__name__, "values": lazy.compute()}


@check
def include_data_sources(ctx):
    client = _from_uri(ctx["url"], api_key=ctx["api_key"], include_data_sources=True)
    sources = client["manual"]["seq"].data_sources()
    return [
        {
            "mimetype": ds.mimetype,
            "management": str(getattr(ds.management, "value", ds.management)),
            "assets": [
                {"data_uri": a.data_uri, "parameter": a.parameter, "num": a.num, "id": a.id}
                for a in ds.assets
            ],
        }
        for ds in sources
    ]


@check
def repr_of_root(ctx):
    return repr(ctx.client())


main()
