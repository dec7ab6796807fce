"""``tiled serve directory --watch`` as a real subprocess, and polling helpers.

Every wait polls until a condition holds, with generous deadlines: the machine may be
loaded, and no test asserts how long anything took.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tiled.testing.processes import tiled_process

KEY = "secret"
HEADERS = {"Authorization": f"Apikey {KEY}"}
WORKTREE = str(Path(__file__).resolve().parents[2])
DEADLINE = 120.0


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self.http = httpx.Client(base_url=f"{url}/api/v1", headers=HEADERS, timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def keys(self, path: str = "") -> set[str]:
        keys: set[str] = set()
        url: str | None = f"/search/{path}?page[limit]=300"
        while url:
            response = self.http.get(url)
            response.raise_for_status()
            body = response.json()
            keys.update(item["id"] for item in body["data"])
            url = body["links"].get("next")
            if url:
                url = url.split("/api/v1", 1)[-1]
        return keys

    def metadata(self, path: str) -> dict[str, Any] | None:
        response = self.http.get(f"/metadata/{path}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()["data"]

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the server exited while waiting for {what}:\n{self.output()}"
                )
            try:
                if condition():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def wait_indexed(self) -> None:
        self.wait_for("the initial sync", lambda: self.get("/indexing").json()["done"])


@contextmanager
def watching(
    directory: Path,
    *args: str,
    env: dict[str, str] | None = None,
    wrapper: list[str] | None = None,
) -> Iterator[Server]:
    """``tiled serve directory --watch DIRECTORY ARGS`` until the block ends (``wrapper``:
    a command line the server's command is appended to, e.g. ``unshare ...``)."""
    environment = dict(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (WORKTREE, environment.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))) if p
    )
    command = ["serve", "directory", str(directory), "--watch", "--api-key", KEY]
    with tiled_process(
        [*command, "--concurrency", "2", *args], env=environment, wait=False, wrapper=wrapper or ()
    ) as process:
        server = Server(process.process, process.url, process.log_path)
        try:
            server.wait_for("the server to answer", lambda: server.get("/").status_code == 200)
            yield server
        finally:
            server.http.close()


class Watchdog:
    """Polls ``check`` in a thread until stopped; every failure it saw is kept."""

    def __init__(self, check: Callable[[], str | None]) -> None:
        self.check = check
        self.failures: list[str] = []
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                failure = self.check()
            except Exception as err:  # the check itself must not die silently
                failure = f"{type(err).__name__}: {err}"
            if failure:
                self.failures.append(failure)
            self.rounds += 1
            time.sleep(0.05)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
