"""Registration through the official client: the documented example, ``register()`` of
every format, ``new()`` with explicit data sources and ``create_container``."""

from __future__ import annotations


def test_official_client_is_the_pypi_package(served):
    tiled = served.setup.value("__tiled__")
    assert tiled["version"] == served.official.version
    assert str(served.official.python.parent.parent) in tiled["file"]


def test_documented_example_registers(served):
    assert served.setup.value("documented_example")


def test_create_container(served):
    assert served.setup.value("create_manual") == {"id": "manual", "path": ["manual"]}


def test_register_every_format(served):
    for name in ("image", "seq", "h5", "csv", "pq", "arr"):
        served.setup.value(f"register_{name}")
