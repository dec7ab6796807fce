"""Liveness (/healthz, as the spec words it) and readiness (/readyz, checks the catalog)."""

import httpx


def test_liveness_is_anonymous_and_as_specified(server):
    response = httpx.get(f"{server}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readiness_checks_the_catalog(server):
    response = httpx.get(f"{server}/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "catalog": "ok"}


def test_probes_are_in_the_openapi_document(server):
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/api/v1/metrics"} <= set(paths)
