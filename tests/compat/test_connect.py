"""Checklist, "Connection and auth": every way the official client connects."""

from __future__ import annotations

import numpy
import pytest

from .tree import many_metadata, many_specs

CLIENT_ERROR = "tiled.client.utils.ClientError"


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("connect", tmp_path_factory.mktemp("connect"))


@pytest.fixture(scope="module")
def root_keys(served):
    return sorted([served.setup.value("documented_example"), "manual", "many"])


@pytest.fixture(scope="module")
def volume(served):
    return numpy.load(served.root / "data" / "volume.npy")


def test_no_server_errors(results):
    assert results.server_errors == []


@pytest.mark.parametrize(
    "check", ["api_key_kwarg", "env_tiled_api_key", "api_key_in_uri", "uri_with_api_v1"]
)
def test_connect_with_key(results, root_keys, check):
    assert results.value(check) == root_keys


def test_uri_ending_in_api(results, root_keys):
    assert results.value("uri_with_api") == root_keys


def test_subpath_uri_starts_at_that_node(results):
    value = results.value("subpath_uri")
    assert value == {"keys": [], "metadata": many_metadata(3), "specs": many_specs(3)}


def test_subpath_uri_to_an_array(results, volume):
    numpy.testing.assert_array_equal(results.value("subpath_uri_to_array"), volume)


@pytest.mark.parametrize("check", ["wrong_key", "wrong_key_in_env"])
def test_wrong_key_fails_in_from_uri(results, check):
    error = results.raised(check, CLIENT_ERROR)
    assert error["status"] == 401
    assert "Invalid API key" in error["message"]


@pytest.mark.parametrize("check", ["no_key", "key_with_a_dash"])
def test_no_key_fails_client_side(results, check):
    # The client refuses before any authenticated request; it ignores keys that are not \w+.
    error = results.raised(check, "builtins.RuntimeError")
    assert "requires API key authentication" in error["message"]


def test_public_server_reads_without_key(results, root_keys, volume):
    value = results.value("public_server_without_key")
    assert value["keys"] == root_keys
    numpy.testing.assert_array_equal(value["arr"], volume)


def test_public_server_refuses_anonymous_writes(results):
    assert results.raised("public_server_write_without_key", CLIENT_ERROR)["status"] == 401


def test_public_server_accepts_writes_with_key(results):
    assert results.value("public_server_write_with_key") is False


def test_dask_client(results, volume):
    value = results.value("dask_client")
    assert value["type"] == "dask.array.core.Array"
    numpy.testing.assert_array_equal(value["values"], volume)


def test_include_data_sources(results, served):
    (source,) = results.value("include_data_sources")
    data = served.root / "data" / "tiff_seq"
    assert source["mimetype"] == "multipart/related;type=image/tiff"
    assert source["management"] == "external"
    assert [(a["parameter"], a["num"]) for a in source["assets"]] == [
        ("data_uris", i) for i in range(3)
    ]
    assert [a["data_uri"].rsplit("/", 1)[-1] for a in source["assets"]] == sorted(
        p.name for p in data.iterdir()
    )
    assert all(isinstance(a["id"], int) for a in source["assets"])


def test_repr_shows_first_keys_and_count(results, served):
    text = results.value("repr_of_root")
    assert text.startswith("<Container {")
    assert served.setup.value("documented_example") in text
    assert "~3 entries" in text
