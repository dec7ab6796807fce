"""``GET /api/v1/indexing`` on a server that indexes nothing: 404 with a pointer."""

import httpx
import pytest

from tiled.testing.server import run_server

pytestmark = pytest.mark.serial


def test_serve_catalog_has_no_indexer(sqlite_uri):
    with run_server(sqlite_uri) as url:
        response = httpx.get(f"{url}/api/v1/indexing", headers={"Authorization": "Apikey secret"})
        assert response.status_code == 404
        assert "serve directory" in response.json()["detail"]
        assert httpx.get(f"{url}/api/v1/indexing").status_code == 401
