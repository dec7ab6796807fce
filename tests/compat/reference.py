"""Tiled's own server, for the opt-in reference run (``TILED_COMPAT_REFERENCE=1``).

The same driver scripts and assertions then run against the original, which shows that
what the suite expects is what the official client does against Tiled; the known
differences are marked in the tests and listed in docs/compatibility.md.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tiled.testing.server import free_port

from .official import OfficialClient


@contextmanager
def run_official_server(
    official: OfficialClient,
    catalog: Path,
    readable: Path,
    api_key: str,
    *,
    public: bool = False,
    init: bool = True,
) -> Iterator[str]:
    """``tiled serve catalog`` from the reference environment; yields its URL."""
    port = free_port()
    command = [
        str(official.bin / "tiled"),
        "serve",
        "catalog",
        str(catalog),
        "-r",
        str(readable),
        "--api-key",
        api_key,
        "--port",
        str(port),
        *(["--init"] if init else []),
        *(["--public"] if public else []),
    ]
    log = open(catalog.with_suffix(f".{port}.log"), "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=official.environ(), cwd=catalog.parent
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Tiled's server exited with {process.returncode}; see its log")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError("Tiled's server did not start within 120 s")
