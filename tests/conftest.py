import pytest

from tiled.testing import databases

pytest_plugins = ["tiled.testing.fixtures"]


def pytest_configure(config):
    """Under xdist, honour ``xdist_group`` markers: tests/compat keeps each module on one
    worker, so its driver scripts run once. ``-n 2`` means ``--dist load``; it becomes
    ``loadgroup``, which schedules ungrouped tests exactly like ``load``."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        # Workers re-parse the command line (dist=load); the controller tells them.
        if workerinput.get("tiled_loadgroup"):
            config.option.loadgroup = True
    elif config.pluginmanager.hasplugin("xdist") and config.option.dist == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["tiled_loadgroup"] = node.config.option.dist == "loadgroup"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def module_catalog_uri(request, tmp_path_factory):
    """An empty catalog shared by the read-only tests of one module, on both databases."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("catalog") / "catalog.db")
        return
    template = request.getfixturevalue("postgres_template")
    with databases.fresh_database(template) as uri:
        yield uri


@pytest.fixture(autouse=True)
def _adapter_registry_restored():
    """Adapters a test registers (lambdas, local classes) do not leak into later tests,
    whose worker processes would otherwise be asked to import them."""
    from tiled.adapters import registry

    saved = dict(registry._registry)
    yield
    registry._registry.clear()
    registry._registry.update(saved)


@pytest.fixture(autouse=True)
def _tiled_logging_restored():
    """Commands run in-process configure the ``tiled`` loggers for a terminal (own
    handlers, no propagation); later tests that read records through caplog need them
    back as they were."""
    import logging

    names = ["tiled", "tiled.access", "tiled.registration.progress", "tiled.registration.watch"]
    saved = {}
    for name in names:
        log = logging.getLogger(name)
        saved[name] = (list(log.handlers), log.level, log.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        log = logging.getLogger(name)
        log.handlers[:] = handlers
        log.setLevel(level)
        log.propagate = propagate
