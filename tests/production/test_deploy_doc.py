"""The server command of docs/deploy.md runs as written (database, port and paths
substituted), and the documented defaults are the real ones."""

import re
import shlex
import time
from pathlib import Path

import httpx
import pytest

from tiled.server import settings
from tiled.testing.processes import serve_catalog_process

DOC = Path(__file__).parent.parent.parent / "docs" / "deploy.md"
pytestmark = [pytest.mark.serial, pytest.mark.postgres]


def server_command() -> list[str]:
    block = next(
        b for b in re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.S)
        if "tiled serve catalog" in b
    )  # fmt: skip
    line = next(line for line in block.replace("\\\n", " ").splitlines() if "tiled serve" in line)
    return shlex.split(line)


def test_documented_server_command_runs(postgres_uri, tmp_path):
    args = server_command()
    assert args[:3] == ["tiled", "serve", "catalog"]
    args = [postgres_uri if a.startswith("postgresql://") else a for a in args[3:]]
    args = [str(tmp_path) if a == "/data/a" else a for a in args]
    port_at = args.index("--port")
    del args[port_at : port_at + 2]  # the harness picks a free port
    args[args.index("--host") + 1] = "127.0.0.1"
    with serve_catalog_process(args, env={"TILED_SINGLE_USER_API_KEY": "doc-key"}) as server:
        assert httpx.get(f"{server.url}/readyz").json()["status"] == "ready"
        headers = {"Authorization": "Apikey doc-key"}
        assert httpx.get(f"{server.url}/api/v1/metadata/", headers=headers).status_code == 200
        # Both workers report once both have started: their pools share the budget of 40.
        deadline = time.monotonic() + 60
        while "tiled_catalog_pool_capacity 40.0" not in (
            metrics := httpx.get(f"{server.url}/api/v1/metrics").text
        ):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.5)


def test_documented_limits_are_the_defaults():
    text = DOC.read_text()
    assert f"`--max-request-bytes` | {settings.DEFAULT_MAX_REQUEST_BYTES // 1024**2} MiB" in text
    assert f"`--max-response-bytes` | {settings.DEFAULT_MAX_RESPONSE_BYTES // 1024**2} MiB" in text
    assert f"`--request-timeout` | {settings.DEFAULT_REQUEST_TIMEOUT:g} s" in text
    assert f"`--idle-timeout` | {settings.DEFAULT_IDLE_TIMEOUT:g} s" in text
