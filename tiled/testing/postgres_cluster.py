"""A private PostgreSQL cluster that a test (or benchmark) starts, stops and restarts itself.

Fault tests must not touch the shared cluster on port 5432, which other tests use at
the same time. This one lives in a temporary directory owned by the ``postgres`` user
(PostgreSQL refuses to run as root), listens on a free loopback port with trust
authentication, and is removed when the context ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .server import free_port

SYSTEM_USER = "postgres"


def find_binaries() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb (or $TILED_TEST_PG_BIN)."""
    configured = os.environ.get("TILED_TEST_PG_BIN")
    candidates = [configured] if configured else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError(
        "No PostgreSQL server binaries found (looked for /usr/lib/postgresql/*/bin/initdb); "
        "install the postgresql package or set TILED_TEST_PG_BIN"
    )


class PostgresCluster:
    """One throwaway cluster; ``start()``/``stop()`` may be repeated to simulate outages."""

    def __init__(self, directory: Path, port: int, binaries: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self.binaries = binaries
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def admin_uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def uri(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=_user(), timeout=120)

    def initdb(self) -> None:
        self._run(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self, timeout: float = 30) -> None:
        log = open(self.directory / "postgres.log", "ab")  # noqa: SIM115 - kept by the process
        try:
            self.process = subprocess.Popen(
                [
                    str(self.binaries / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.directory}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=_user(),
            )
        finally:
            log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited; see {self.directory / 'postgres.log'}")
            ready = subprocess.run(
                [str(self.binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept connections in {timeout} s")
            time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """Shut down (``fast`` disconnects clients, like a restart by an administrator)."""
        if self.process is None:
            return
        self._run(str(self.binaries / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w")
        self.process.wait(timeout=60)
        self.process = None

    def create_database(self, name: str) -> str:
        self._run(
            str(self.binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
            "postgres", name,
        )  # fmt: skip
        return self.uri(name)


def _user() -> str | None:
    """Run the server as ``postgres`` when we are root (it refuses to run as root)."""
    return SYSTEM_USER if os.geteuid() == 0 else None


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A started private cluster on a free port; stopped and deleted afterwards."""
    binaries = find_binaries()
    directory = Path(tempfile.mkdtemp(prefix="tiled-pg-"))
    try:
        if _user() is not None:
            shutil.chown(directory, SYSTEM_USER, SYSTEM_USER)
        cluster = PostgresCluster(directory, free_port(), binaries)
        cluster.initdb()
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.process is not None:
                cluster.process.send_signal(signal.SIGINT)  # fast shutdown
                try:
                    cluster.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    cluster.process.kill()
                    cluster.process.wait(timeout=30)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
