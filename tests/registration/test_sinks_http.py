"""HttpSink against a real server over real HTTP, on both databases, and the same batch
through CatalogSink: both sinks must answer alike."""

import asyncio
import os
import socket
import threading

import pytest

from tiled.catalog import Catalog
from tiled.registration.model import Put, Remove
from tiled.registration.sinks import CatalogSink, HttpSink, SinkAuthenticationError
from tiled.registration.sinks.http import SinkError
from tiled.structures.core import StructureFamily
from tiled.testing.entries import container_entry, file_entry, write_csv, write_hdf5, write_tiff
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial


@pytest.fixture
def tree(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    write_tiff(data / "a.tiff", 1)
    write_tiff(data / "sub" / "b.tiff", 2)
    write_csv(data / "sub" / "t.csv")
    write_hdf5(data / "s.h5")
    (tmp_path / "outside").mkdir()
    write_tiff(tmp_path / "outside" / "secret.tiff", 3)
    return data


def batch(tree):
    return [
        Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff")),
        Put(container_entry(("sub",), {"directory": "sub"})),
        Put(file_entry(("sub", "b"), [tree / "sub" / "b.tiff"], "image/tiff")),
        Put(file_entry(("sub", "t"), [tree / "sub" / "t.csv"], "text/csv")),
        Put(file_entry(("s",), [tree / "s.h5"], "application/x-hdf5")),
        Put(file_entry(("secret",), [tree.parent / "outside" / "secret.tiff"], "image/tiff")),
        Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff")),  # taken
        Put(file_entry(("x", "y"), [tree / "a.tiff"], "image/tiff")),  # no parent
    ]


EXPECTED = [
    (True, None),
    (True, None),
    (True, None),
    (True, None),
    (True, None),
    (False, 403),
    (False, 409),
    (False, 404),
]


async def exercise(sink, tree):
    outcomes = await sink.apply(batch(tree))
    assert [(o.ok, o.status) for o in outcomes] == EXPECTED, outcomes
    registered = [r async for r in sink.registered()]
    assert [r.key_path for r in registered] == [
        ("a",),
        ("s",),
        ("sub",),
        ("sub", "b"),
        ("sub", "t"),
    ]
    stat = os.stat(tree / "a.tiff")
    assert registered[0].fingerprint == (
        ((tree / "a.tiff").resolve().as_uri(), stat.st_size, stat.st_mtime_ns),
    )
    assert registered[2].structure_family == StructureFamily.container
    # the file changes; the node is replaced in place and its fingerprint follows
    write_tiff(tree / "a.tiff", 5, shape=(4, 4))
    replaced = await sink.apply(
        [Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff"), replace=True), Remove(("sub",))]
    )
    assert [o.ok for o in replaced] == [True, True]
    after = {r.key_path: r async for r in sink.registered()}
    assert set(after) == {("a",), ("s",)}
    assert after[("a",)].fingerprint[0][1] == os.stat(tree / "a.tiff").st_size
    return registered


def test_http_sink_round_trip_matches_catalog_sink(catalog_uri, tree, tmp_path):
    async def over_http(url):
        sink = HttpSink(url, "secret", batch_limit=3)  # several requests per apply
        try:
            return await exercise(sink, tree)
        finally:
            await sink.close()

    with run_server(catalog_uri, readable=[tree], api_key="secret") as url:
        via_http = asyncio.run(over_http(url))

    write_tiff(tree / "a.tiff", 1)  # as it was

    async def in_process():
        from tiled.catalog.database import initialize_database

        uri = str(tmp_path / "second.db")
        await initialize_database(uri)
        catalog = await Catalog.connect(uri)
        try:
            return await exercise(CatalogSink(catalog, (), readable=[tree]), tree)
        finally:
            await catalog.close()

    via_catalog = asyncio.run(in_process())
    assert [(r.key_path, r.structure_family) for r in via_http] == [
        (r.key_path, r.structure_family) for r in via_catalog
    ]


def test_http_sink_under_a_prefix_and_key_from_environment(catalog_uri, tree, monkeypatch):
    monkeypatch.setenv("TILED_API_KEY", "secret")

    async def main(url):
        import httpx

        async with httpx.AsyncClient(headers={"Authorization": "Apikey secret"}) as client:
            created = await client.post(
                f"{url}/api/v1/metadata/",
                json={"id": "my data", "structure_family": "container", "metadata": {}},
            )
            assert created.status_code == 200, created.text
        sink = HttpSink(url + "/api/v1/", prefix=("my data",))
        try:
            outcomes = await sink.apply([Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff"))])
            assert outcomes[0].ok, outcomes
            assert [k async for k in _keys(sink)] == [("a",)]
        finally:
            await sink.close()

    with run_server(catalog_uri, readable=[tree], api_key="secret") as url:
        asyncio.run(main(url))


async def _keys(sink):
    async for r in sink.registered():
        yield r.key_path


def test_http_sink_stops_on_bad_credentials_and_missing_prefix(catalog_uri, tree, monkeypatch):
    monkeypatch.delenv("TILED_API_KEY", raising=False)

    async def main(url):
        for key in (None, "wrong"):
            sink = HttpSink(url, key)
            try:
                with pytest.raises(SinkAuthenticationError, match="TILED_API_KEY"):
                    await sink.apply([Put(container_entry(("x",)))])
                with pytest.raises(SinkAuthenticationError):
                    [r async for r in sink.registered()]
            finally:
                await sink.close()
        sink = HttpSink(url, "secret", prefix=("nowhere",))
        try:
            with pytest.raises(SinkError, match="404"):
                await sink.apply([Put(container_entry(("x",)))])
        finally:
            await sink.close()

    with run_server(catalog_uri, readable=[tree], api_key="secret") as url:
        asyncio.run(main(url))


def test_http_sink_splits_a_batch_the_server_finds_too_large(sqlite_uri, tree):
    async def main(url):
        sink = HttpSink(url, "secret", batch_limit=50)
        try:
            changes = [Put(container_entry((f"k{i:02d}",))) for i in range(12)]
            outcomes = await sink.apply(changes)
            assert all(o.ok for o in outcomes)
            assert [o.key_path for o in outcomes] == [c.entry.key_path for c in changes]
        finally:
            await sink.close()

    with run_server(sqlite_uri, readable=[tree], api_key="secret", max_bulk_changes=5) as url:
        asyncio.run(main(url))


def test_http_sink_retries_until_the_server_answers(sqlite_uri, tree):
    """Connection refused at first: the sink backs off and succeeds once a server listens."""
    from tiled.testing.server import free_port

    port = free_port()
    started = threading.Event()

    async def main():
        sink = HttpSink(f"http://127.0.0.1:{port}", "secret", retries=8, backoff=0.2)
        try:
            task = asyncio.create_task(sink.apply([Put(container_entry(("late",)))]))
            await asyncio.sleep(0.3)
            started.set()
            return await asyncio.wait_for(task, 120)
        finally:
            await sink.close()

    result = {}

    def serve():
        import uvicorn

        from tiled.server.app import build_app
        from tiled.server.settings import ServerSettings

        started.wait(60)
        app = build_app(ServerSettings(catalog_uri=sqlite_uri, api_key="secret", readable=(tree,)))
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        result["server"] = server
        server.run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        outcomes = asyncio.run(main())
        assert [o.ok for o in outcomes] == [True]
    finally:
        started.set()
        while "server" not in result and thread.is_alive():
            thread.join(0.1)
        if "server" in result:
            result["server"].should_exit = True
        thread.join(30)


def test_unreachable_server_is_a_clear_error(tree):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused

        async def main():
            sink = HttpSink(f"http://127.0.0.1:{port}", "secret", retries=1, backoff=0.01)
            try:
                with pytest.raises(SinkError, match="Cannot reach"):
                    await sink.apply([Put(container_entry(("x",)))])
            finally:
                await sink.close()

        asyncio.run(main())


class AnswerDroppingProxy:
    """A TCP proxy in front of a real server that lets the first bulk registration reach
    the server and then breaks the connection instead of relaying the answer, as a
    network failure after the server committed would."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.dropped = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            state = {"register": False}
            threading.Thread(target=self._up, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, state), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, state: dict) -> None:
        try:
            while data := client.recv(65536):
                if b"POST /api/v1/bulk/register" in data:
                    state["register"] = True
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(upstream)

    def _down(self, upstream: socket.socket, client: socket.socket, state: dict) -> None:
        try:
            while data := upstream.recv(65536):
                with self._lock:
                    drop = state["register"] and self.dropped == 0
                    if drop:
                        self.dropped += 1
                if drop:
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)

    def close(self) -> None:
        self.listener.close()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def test_http_sink_retry_after_a_lost_answer_reports_what_was_done(sqlite_uri, tree):
    """The first batch is applied but its answer never arrives: the retry's 409s and
    404s are the asked-for state, reported as done, while a real refusal stays one."""

    async def main(url: str) -> tuple[list, list, list]:
        port = int(url.rsplit(":", 1)[1])
        proxy = AnswerDroppingProxy(port)
        sink = HttpSink(f"http://127.0.0.1:{proxy.port}", "secret", retries=3, backoff=0.05)
        direct = HttpSink(url, "secret")
        try:
            await direct.apply([Put(file_entry(("old",), [tree / "a.tiff"], "image/tiff"))])
            first = await sink.apply(
                [
                    Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff")),
                    Remove(("old",)),
                    Put(file_entry(("x", "y"), [tree / "a.tiff"], "image/tiff")),  # no parent
                ]
            )
            assert proxy.dropped == 1
            # a later, ordinary batch keeps reporting real conflicts as such
            later = await sink.apply(
                [Put(file_entry(("a",), [tree / "a.tiff"], "image/tiff")), Remove(("old",))]
            )
            listed = [r.key_path async for r in direct.registered()]
            return first, later, listed
        finally:
            await sink.close()
            await direct.close()
            proxy.close()

    with run_server(sqlite_uri, readable=[tree], api_key="secret") as url:
        first, later, listed = asyncio.run(main(url))
    assert [(o.ok, o.status) for o in first] == [(True, None), (True, None), (False, 404)]
    assert "earlier attempt" in first[0].message
    assert "earlier attempt" in first[1].message
    assert [(o.ok, o.status) for o in later] == [(False, 409), (False, 404)]
    assert listed == [("a",)]
