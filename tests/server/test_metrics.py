"""Prometheus metrics at /api/v1/metrics: routes by template, pool use, indexing."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tiled.server.metrics import ServerMetrics

from .conftest import API_KEY, tiff_pair_body

AUTH = {"Authorization": f"Apikey {API_KEY}"}


def samples(base_url):
    response = httpx.get(f"{base_url}/api/v1/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_not_raw_path(server, data_dir):
    with httpx.Client(base_url=f"{server}/api/v1", headers=AUTH) as http:
        assert http.post("/register/", json=tiff_pair_body(data_dir)).status_code == 200
        for name in ("missing-a", "missing-b", "deep/missing/c"):
            assert http.get(f"/metadata/{name}").status_code == 404
        assert http.get("/metadata/pair").status_code == 200
        assert http.get("/array/block/pair?block=0,0,0").status_code == 200
        assert http.get("/no-such-route").status_code == 404
    found = samples(server)
    route = "/api/v1/metadata/{path:path}"
    assert value(found, "tiled_http_requests_total", method="GET", route=route, status="404") == 3
    assert value(found, "tiled_http_requests_total", method="GET", route=route, status="200") == 1
    block = "/api/v1/array/block/{path:path}"
    assert value(found, "tiled_http_requests_total", method="GET", route=block, status="200") == 1
    unmatched = value(
        found, "tiled_http_requests_total", method="GET", route="<unmatched>", status="404"
    )
    assert unmatched == 1
    assert not any("missing" in str(labels) for _, labels in found)
    latency = value(found, "tiled_http_request_duration_seconds_count", method="GET", route=route)
    assert latency == 4


def test_pool_use_is_reported(server):
    with httpx.Client(base_url=f"{server}/api/v1", headers=AUTH) as http:
        for _ in range(3):
            assert http.get("/search/").status_code == 200
    found = samples(server)
    assert value(found, "tiled_catalog_pool_capacity") >= 1
    assert value(found, "tiled_catalog_pool_connects_total") >= 1
    assert value(found, "tiled_catalog_pool_connections_in_use") == 0  # all returned


def test_metrics_are_anonymous_and_hold_no_secrets(server):
    assert httpx.get(f"{server}/api/v1/metadata/?api_key={API_KEY}").status_code == 200
    text = httpx.get(f"{server}/api/v1/metrics").text
    assert API_KEY not in text
    assert "tiled_http_requests_in_progress" in text


def test_indexing_counters_hook():
    metrics = ServerMetrics()
    metrics.indexing.record("registered", 3)
    metrics.indexing.record("failed")
    body, _ = metrics.exposition()
    text = body.decode()
    assert 'tiled_indexing_items_total{outcome="registered"} 3.0' in text
    assert 'tiled_indexing_items_total{outcome="failed"} 1.0' in text
    assert 'tiled_indexing_items_total{outcome="skipped"} 0.0' in text
    with pytest.raises(ValueError, match="registered"):
        metrics.indexing.record("exploded")
