"""``tiled serve catalog`` as a user runs it: a real subprocess on a free port."""

import re
import subprocess
import sys
from contextlib import contextmanager

import httpx
import pytest

from tiled.testing.processes import serve_catalog_process

pytestmark = pytest.mark.serial


@contextmanager
def serve(*args, env=None):
    with serve_catalog_process(args, env=env) as server:
        yield server, server.url


def stderr_of(server):
    server.stop()
    return server.output()


def test_missing_catalog_says_to_init(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tiled.cli.main", "serve", "catalog", str(tmp_path / "c.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--init" in result.stderr
    assert not (tmp_path / "c.db").exists()


def test_generated_key_is_printed_and_works(tmp_path):
    with serve("--temp", "-r", str(tmp_path), env={"TILED_SINGLE_USER_API_KEY": ""}) as (
        process,
        url,
    ):
        assert httpx.get(f"{url}/api/v1/metadata/").status_code == 401
        assert (
            httpx.get(f"{url}/api/v1/metadata/", headers={"Authorization": "Apikey nope"})
        ).status_code == 401
        output = stderr_of(process)
    match = re.search(r'api_key="([^"]+)"', output)
    assert match, output
    key = match.group(1)
    assert len(key) >= 32
    with serve("--temp", "-r", str(tmp_path), "--api-key", key) as (_, url):
        ok = httpx.get(f"{url}/api/v1/metadata/", headers={"Authorization": f"Apikey {key}"})
        assert ok.status_code == 200


def test_key_from_environment_and_never_logged(tmp_path):
    env = {"TILED_SINGLE_USER_API_KEY": "env-key-123"}
    with serve("--temp", "-r", str(tmp_path), "--verbose", env=env) as (process, url):
        assert httpx.get(f"{url}/api/v1/metadata/?api_key=env-key-123").status_code == 200
        headers = {"Authorization": "Apikey env-key-123"}
        assert httpx.get(f"{url}/api/v1/metadata/", headers=headers).status_code == 200
        output = stderr_of(process)
    assert "env-key-123" not in output
    assert "api_key=[redacted]" in output


def test_public_reads_need_no_key_but_writes_do(tmp_path):
    with serve("--temp", "-r", str(tmp_path), "--public", "--api-key", "k") as (_, url):
        about = httpx.get(f"{url}/api/v1/").json()
        assert about["authentication"]["required"] is False
        assert httpx.get(f"{url}/api/v1/metadata/").status_code == 200
        assert httpx.get(f"{url}/api/v1/search/").status_code == 200
        body = {"id": "c", "structure_family": "container", "metadata": {}, "specs": []}
        assert httpx.post(f"{url}/api/v1/metadata/", json=body).status_code == 401
        created = httpx.post(
            f"{url}/api/v1/metadata/", json=body, headers={"Authorization": "Apikey k"}
        )
        assert created.status_code == 200
        assert httpx.delete(f"{url}/api/v1/metadata/c").status_code == 401
