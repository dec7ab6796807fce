"""Directory indexing waits for the server's socket (``app.state.listening``), so the
first answer never shares the start-up with the walk and the inspection workers."""

import asyncio

from tiled.catalog.database import initialize_database
from tiled.registration.plan import options_from_cli
from tiled.server.app import build_app
from tiled.server.indexing import start_indexing
from tiled.server.settings import ServerSettings
from tiled.testing.trees import write_csv


def test_indexing_starts_once_the_runner_says_the_server_listens(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "table.csv", seed=1)
    uri = str(tmp_path / "catalog.db")
    asyncio.run(initialize_database(uri))
    app = build_app(ServerSettings(catalog_uri=uri, api_key="secret", readable=(data,)))
    options = options_from_cli(
        [data], keep_ext=False, include_ext=[], ext=[], mimetype_hook=None, walker=None
    )
    state = start_indexing(app, data, options, concurrency=1)

    async def serve() -> None:
        app.state.listening = asyncio.Event()
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0.5)
            assert (state.phase, state.files_seen) == ("starting", 0)
            app.state.listening.set()
            for _ in range(600):
                if state.done:
                    break
                await asyncio.sleep(0.05)
        assert (state.phase, state.files_seen) == ("idle", 1)

    asyncio.run(serve())
