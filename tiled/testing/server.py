"""A real server on a free loopback port, in a background thread, for tests and demos."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from ..server.app import build_app
from ..server.settings import ServerSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_server(
    catalog_uri: str,
    *,
    readable: Sequence[Path] = (),
    api_key: str | None = "secret",
    public: bool = False,
    init: bool = True,
    **settings: object,
) -> Iterator[str]:
    """Serve ``catalog_uri`` over HTTP until the block ends; yields ``http://127.0.0.1:PORT``.

    ``api_key=None`` makes a public server whose writes need the key ``"secret"``.
    """
    app = build_app(
        ServerSettings(
            catalog_uri=catalog_uri,
            api_key=api_key or "secret",
            readable=tuple(Path(p) for p in readable),
            public=public or api_key is None,
            init=init,
            **settings,  # type: ignore[arg-type]
        )
    )
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"tiled-test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("The test server failed to start; see the log above")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("The test server did not start within 30 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
