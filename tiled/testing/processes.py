"""``tiled serve catalog`` (or any serving ``tiled`` command) as a real subprocess on a
free port, for tests and benchmarks.

Output goes to a file, not a pipe: a busy server logging every request would fill a
pipe nobody reads and block.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .server import free_port


def python_output(code: str, timeout: float = 60) -> str:
    """What ``code`` prints when a fresh interpreter runs it (stripped): for checks of
    what importing or starting something loads, which this process has loaded already."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=True
    )
    return result.stdout.strip()


@dataclass
class ServerProcess:
    """A running server: its process, base URL and the file collecting its output."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    argv: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM (uvicorn shuts down gracefully), then SIGKILL; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group (workers too), as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def wait_until_serving(server: ServerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"The server exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"The server did not answer within {timeout} s:\n{server.output()}")
        time.sleep(0.1)


@contextmanager
def serve_catalog_process(
    args: Sequence[str],
    *,
    env: Mapping[str, str | None] | None = None,
    port: int | None = None,
    wait: bool = True,
    python: str = sys.executable,
    command: Sequence[str] | None = None,
) -> Iterator[ServerProcess]:
    """Run ``tiled serve catalog ARGS --port PORT`` until the block ends (see
    :func:`tiled_process`)."""
    with tiled_process(
        ["serve", "catalog", *args], env=env, port=port, wait=wait, python=python, command=command
    ) as server:
        yield server


@contextmanager
def tiled_process(
    args: Sequence[str],
    *,
    env: Mapping[str, str | None] | None = None,
    port: int | None = None,
    wait: bool = True,
    python: str = sys.executable,
    command: Sequence[str] | None = None,
    wrapper: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """Run ``tiled ARGS --port PORT`` (a serving command) until the block ends.

    ``command`` replaces ``python -m tiled.cli.main`` (to run another installation);
    ``wrapper`` is a command line the whole command is appended to (``unshare ...``).
    ``env`` adds variables to the environment (None removes one). The process leads its
    own process group so that :meth:`ServerProcess.kill` reaches every worker.
    """
    port = port or free_port()
    base = list(command) if command else [python, "-m", "tiled.cli.main"]
    argv = [*wrapper, *base, *args, "--port", str(port)]
    log_dir = Path(tempfile.mkdtemp(prefix="tiled-server-log-"))
    log_path = log_dir / "server.log"
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path, argv)
    try:
        if wait:
            wait_until_serving(server)
        yield server
    finally:
        server.stop()
        if server.process.poll() is None:  # pragma: no cover - stop() waits
            server.kill()
        try:
            os.killpg(process.pid, signal.SIGKILL)  # any worker left behind
        except ProcessLookupError:
            pass
        log_path.unlink(missing_ok=True)
        log_dir.rmdir()
