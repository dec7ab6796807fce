"""from_uri: URI forms, where the API key comes from, and how a wrong or missing key fails."""

import logging

import pytest

from tiled.client import (
    ArrayClient,
    ClientAuthenticationError,
    Container,
    NoAPIKeyError,
    from_uri,
)
from tiled.client.context import parse_uri
from tiled.errors import AuthenticationError
from tiled.testing.server import run_server

from .conftest import API_KEY, RecordingTransport

pytestmark = pytest.mark.serial


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/", "/api/v1", "/api/v1/"])
def test_uri_forms_reach_the_root(served, suffix):
    with from_uri(served.url + suffix, api_key=API_KEY) as client:
        assert isinstance(client, Container)
        assert client.path_parts == ()
        assert client.context.api_uri == served.url + "/api/v1"
        assert "frames" in client


def test_uri_naming_a_node_starts_there(served):
    with from_uri(f"{served.url}/api/v1/metadata/many/n007", api_key=API_KEY) as node:
        assert node.path == "many/n007"
        assert node.metadata["i"] == 7
    with from_uri(f"{served.url}/api/v1/metadata/frames", api_key=API_KEY) as array:
        assert isinstance(array, ArrayClient)
        assert array.shape == (2, 64, 32)


def test_api_key_in_uri_travels_in_the_header(served):
    transport = RecordingTransport()
    with from_uri(f"{served.url}/api/v1?api_key={API_KEY}", transport=transport) as client:
        assert len(client["many"]) == 120
        assert API_KEY not in repr(client.context)
    authenticated = [r for r in transport.requests if r.url.path != "/api/v1/"]
    assert authenticated
    for request in transport.requests:
        assert "api_key" not in str(request.url)
    assert all(r.headers["Authorization"] == f"Apikey {API_KEY}" for r in authenticated)


def test_api_key_from_environment(served, monkeypatch):
    monkeypatch.setenv("TILED_API_KEY", API_KEY)
    with from_uri(served.url) as client:
        assert client["frames"].shape == (2, 64, 32)


def test_explicit_key_wins_over_environment(served, monkeypatch):
    monkeypatch.setenv("TILED_API_KEY", "wrong")
    with from_uri(served.url, api_key=API_KEY) as client:
        assert len(client) == 10


def test_wrong_key_is_401_invalid_api_key(served):
    with pytest.raises(ClientAuthenticationError) as caught:
        from_uri(served.url, api_key="wrong")
    assert str(caught.value).startswith("401: Invalid API key")
    assert caught.value.status_code == 401
    assert caught.value.detail == "Invalid API key"
    assert caught.value.response.request.url.path == "/api/v1/metadata/"
    assert isinstance(caught.value, AuthenticationError)


def test_missing_key_fails_before_any_authenticated_request(served, monkeypatch):
    monkeypatch.delenv("TILED_API_KEY", raising=False)
    transport = RecordingTransport()
    with pytest.raises(NoAPIKeyError, match=r"requires an API key.*TILED_API_KEY"):
        from_uri(served.url, transport=transport)
    assert transport.paths() == ["/api/v1/"]
    assert "Authorization" not in transport.requests[0].headers


def test_public_server_reads_without_key(sqlite_uri, monkeypatch):
    monkeypatch.delenv("TILED_API_KEY", raising=False)
    with run_server(sqlite_uri, api_key="k", public=True) as url:
        with from_uri(url) as anonymous:
            assert len(anonymous) == 0
            with pytest.raises(ClientAuthenticationError, match="401: Not enough permissions"):
                anonymous.create_container("c")
        with from_uri(url, api_key="k") as writer:
            writer.create_container("c")
            assert list(writer) == ["c"]


def test_key_never_logged_or_shown(served, caplog):
    caplog.set_level(logging.DEBUG)
    transport = RecordingTransport()
    with from_uri(served.url, api_key=API_KEY, transport=transport) as client:
        shown = [repr(client), repr(client.context), repr(client["frames"]), str(client.context)]
        client["frames"].read()
    assert not any(API_KEY in text for text in shown)
    assert transport.requests
    assert f"Apikey {API_KEY}" not in caplog.text


def test_key_is_not_sent_to_other_origins(served):
    transport = RecordingTransport()
    with from_uri(served.url, api_key=API_KEY, transport=transport) as client:
        other = served.url.replace("127.0.0.1", "localhost")
        client.context.request("GET", f"{other}/healthz")
    assert "Authorization" not in transport.requests[-1].headers


@pytest.mark.parametrize(
    ("uri", "api", "path", "key"),
    [
        ("http://h:8000", "http://h:8000/api/v1", (), None),
        ("https://h/prefix/api", "https://h/prefix/api/v1", (), None),
        ("http://h:1/api/v1/metadata/a/b%20c", "http://h:1/api/v1", ("a", "b c"), None),
        ("http://h:1/api/v1/?api_key=K&x=1", "http://h:1/api/v1", (), "K"),
        ("http://h:1/api/v1/metadata/api/v1", "http://h:1/api/v1", ("api", "v1"), None),
    ],
)
def test_parse_uri(uri, api, path, key):
    parsed = parse_uri(uri)
    assert (parsed.api_uri, parsed.path_parts, parsed.api_key) == (api, path, key)


@pytest.mark.parametrize("uri", ["ftp://h/api/v1", "localhost:8000", "http://h/api/v1/search/a"])
def test_parse_uri_rejects_what_it_cannot_use(uri):
    with pytest.raises(ValueError, match="http"):
        parse_uri(uri)


def test_bad_structure_clients_fails_before_connecting():
    with pytest.raises(ValueError, match="'numpy', 'dask'"):
        from_uri("http://127.0.0.1:1", "pandas")


def test_not_a_tiled_server_is_a_clear_error(served):
    from tiled.client import ClientConnectionError

    with pytest.raises(ClientConnectionError, match=r"no tiled API at .*/healthz/api/v1/"):
        from_uri(f"{served.url}/healthz/api/v1", api_key=API_KEY)
