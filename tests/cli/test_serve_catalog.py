"""``tiled serve catalog`` as a user runs it: a real subprocess on a free port."""

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest

from tiled.testing.server import free_port

pytestmark = pytest.mark.serial


@contextmanager
def serve(*args, env=None):
    """``tiled serve catalog ...`` on a free port; its pipes are closed when the block ends."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "tiled.cli.main", "serve", "catalog", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    ) as process:
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while process.poll() is None:
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("server did not start") from None
                    time.sleep(0.1)
            yield process, url
        finally:
            process.terminate()
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def stderr_of(process):
    process.terminate()
    return process.communicate(timeout=15)[1]


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


def printed_key(process):
    """The generated key from the start-up banner (printed before the server listens)."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        match = re.search(r'api_key="([^"]+)"', line)
        if match:
            return match.group(1)
        if line.startswith("Serving the catalog"):
            break
    raise AssertionError("no generated key was printed:\n" + "".join(lines))


def test_generated_key_is_printed_and_works(tmp_path):
    from tiled.client import ClientAuthenticationError, from_uri

    with serve("--temp", "-r", str(tmp_path), env={"TILED_SINGLE_USER_API_KEY": ""}) as (
        process,
        url,
    ):
        key = printed_key(process)
        assert len(key) >= 32
        assert httpx.get(f"{url}/api/v1/metadata/").status_code == 401
        assert (
            httpx.get(f"{url}/api/v1/metadata/", headers={"Authorization": "Apikey nope"})
        ).status_code == 401
        ok = httpx.get(f"{url}/api/v1/metadata/", headers={"Authorization": f"Apikey {key}"})
        assert ok.status_code == 200
        with from_uri(url, api_key=key) as client:  # the printed client line, as written
            client.create_container("works")
            assert list(client) == ["works"]
        with pytest.raises(ClientAuthenticationError, match="401: Invalid API key"):
            from_uri(url, api_key="nope")


def test_key_from_environment_and_never_logged(tmp_path):
    env = {"TILED_SINGLE_USER_API_KEY": "env-key-123"}
    with serve("--temp", "-r", str(tmp_path), "--verbose", env=env) as (process, url):
        assert httpx.get(f"{url}/api/v1/metadata/?api_key=env-key-123").status_code == 200
        headers = {"Authorization": "Apikey env-key-123"}
        assert httpx.get(f"{url}/api/v1/metadata/", headers=headers).status_code == 200
        output = stderr_of(process)
    assert "env-key-123" not in output
    assert "api_key=[redacted]" in output


def test_public_reads_need_no_key_but_writes_do(tmp_path, monkeypatch):
    from tiled.client import ClientAuthenticationError, from_uri

    monkeypatch.delenv("TILED_API_KEY", raising=False)
    with serve("--temp", "-r", str(tmp_path), "--public", "--api-key", "k") as (_, url):
        with from_uri(url) as anonymous:
            assert len(anonymous) == 0
            with pytest.raises(ClientAuthenticationError):
                anonymous.create_container("c")
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
