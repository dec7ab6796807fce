"""PostgreSQL restarts under load: fast 503s during the outage only, then full service.

The test runs its own PostgreSQL cluster (initdb in a temporary directory, a free port),
so stopping it disturbs nobody else.
"""

import signal
import threading
import time

import httpx
import psutil
import pytest

from tiled.testing.postgres_cluster import postgres_cluster
from tiled.testing.processes import serve_catalog_process

from .conftest import API_KEY, client

pytestmark = [pytest.mark.serial, pytest.mark.slow]

GRACE = 3.0  # after the database is back, this long to reconnect


class Load:
    """Threads that read metadata, search and array blocks until told to stop."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.results: list[tuple[float, float, int, str | None]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self) -> None:
        paths = ["/metadata/pair", "/search/", "/array/block/pair?block=0,0,0"]
        with client(self.url, timeout=10) as http:
            while not self.stop.is_set():
                for path in paths:
                    started = time.monotonic()
                    try:
                        response = http.get(path)
                        status, retry = response.status_code, response.headers.get("retry-after")
                    except httpx.TransportError as err:
                        status, retry = -1, type(err).__name__
                    self.results.append((started, time.monotonic() - started, status, retry))
                time.sleep(0.01)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def kill_one_worker(parent_pid: int) -> float:
    workers = [
        child
        for child in psutil.Process(parent_pid).children()
        if "spawn_main" in " ".join(child.cmdline())
    ]
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)
    return time.monotonic()


def test_postgres_restart_under_load(data_dir, pair_body):
    with postgres_cluster() as cluster:
        uri = cluster.create_database("catalog")
        args = [uri, "--init", "-r", str(data_dir), "--api-key", API_KEY, "--workers", "2"]
        with serve_catalog_process(args) as server, client(server.url) as http:
            assert http.post("/register/", json=pair_body).status_code == 200
            with Load(server.url) as load:
                time.sleep(2)
                stopping = time.monotonic()
                cluster.stop(mode="fast")  # clients are disconnected, as in a restart
                # A worker that crashes now is restarted while the database is down;
                # it must start anyway (and serve 503), not stop the whole server.
                killed_at = kill_one_worker(server.process.pid)
                time.sleep(1)
                health = httpx.get(f"{server.url}/healthz")
                ready = httpx.get(f"{server.url}/readyz")
                time.sleep(5)  # long enough for the new worker to start in the outage
                cluster.start()
                back = time.monotonic()
                time.sleep(GRACE + 3)
            assert server.process.poll() is None, f"the server exited:\n{server.output()[-4000:]}"
            after_ready = httpx.get(f"{server.url}/readyz")
            write = http.post(
                "/metadata/", json={"id": "after", "structure_family": "container",
                                    "metadata": {}, "specs": []},
            )  # fmt: skip
            log = server.output()

    assert health.status_code == 200  # liveness does not depend on the database
    assert ready.status_code == 503
    assert ready.headers["retry-after"]
    assert ready.json()["status"] == "unavailable"
    assert after_ready.status_code == 200
    assert write.status_code == 200

    # Requests in flight on the killed worker lose their connection; no others may.
    results = [
        r for r in load.results
        if not (r[2] == -1 and r[0] <= killed_at + 0.1 and r[0] + r[1] >= killed_at - 0.1)
    ]  # fmt: skip
    statuses = {status for _, _, status, _ in results}
    assert statuses <= {200, 503}, [r for r in results if r[2] not in (200, 503)][:5]
    unavailable = [r for r in results if r[2] == 503]
    assert unavailable, "no request met the outage"
    for started, elapsed, _, retry_after in unavailable:
        assert stopping - 0.5 <= started <= back + GRACE, (started - stopping, back - stopping)
        assert retry_after is not None
        assert elapsed < 2.0  # fast, not a hang until some timeout
    before = [r for r in results if r[0] < stopping - 0.5]
    after = [r for r in results if r[0] > back + GRACE]
    assert before
    assert all(r[2] == 200 for r in before)
    assert len(after) > 20
    assert all(r[2] == 200 for r in after)
    assert "Traceback" not in log, log[-3000:]
