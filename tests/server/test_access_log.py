"""Structured access log records, without secrets; the request id is echoed."""

import json
import logging

import httpx
import pytest

from tiled.server.access_log import JsonLogFormatter, logging_config

from .conftest import API_KEY


@pytest.fixture
def access_log(caplog):
    """Records of ``tiled.access``, caught at the logger itself: an in-process CLI test
    may have configured ``tiled`` not to propagate to the root logger."""
    logger = logging.getLogger("tiled.access")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False  # caplog also listens at the root: each record once
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)
        logger.propagate = propagate


def access_records(caplog):
    return [r for r in caplog.records if r.name == "tiled.access"]


def test_access_record_fields_and_no_secrets(server, access_log):
    caplog = access_log
    response = httpx.get(
        f"{server}/api/v1/metadata/",
        params={"api_key": API_KEY, "fields": "metadata"},
        headers={"X-Request-ID": "trace-42", "User-Agent": "probe/1", "Cookie": "s=1"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-42"
    (record,) = [r for r in access_records(caplog) if r.access["path"] == "/api/v1/metadata/"]
    access = record.access
    assert access["route"] == "/api/v1/metadata/{path:path}"
    assert access["query"] == "api_key=[redacted]&fields=metadata"
    assert access["status"] == 200
    assert access["request_id"] == "trace-42"
    assert access["user_agent"] == "probe/1"
    assert access["bytes"] == len(response.content)
    line = JsonLogFormatter().format(record)
    assert API_KEY not in line
    assert "s=1" not in line
    assert json.loads(line)["route"] == "/api/v1/metadata/{path:path}"


def test_malformed_request_ids_are_replaced(server):
    response = httpx.get(f"{server}/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    generated = response.headers["x-request-id"]
    assert generated != "bad id\twith spaces"
    assert len(generated) == 32


def test_logging_config_formats():
    assert logging_config(log_format="json")["formatters"]["tiled"]["()"].endswith(
        "JsonLogFormatter"
    )
    assert logging_config(verbose=True)["loggers"]["tiled"]["level"] == "INFO"
