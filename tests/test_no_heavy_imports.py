"""Importing the client (or tiled itself) loads nothing from the server side."""

import pytest

from tiled.testing.processes import python_output

SERVER_SIDE = [
    "sqlalchemy",
    "starlette",
    "fastapi",
    "uvicorn",
    "alembic",
    "tiled.server",
    "tiled.catalog",
    "tiled.adapters",
]


@pytest.mark.parametrize("module", ["tiled", "tiled.client"])
def test_import_loads_no_server_side_modules(module):
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {SERVER_SIDE!r} "
        f"or any(m == s or m.startswith(s + '.') for s in {SERVER_SIDE!r}))\n"
        "print(','.join(bad))\n"
    )
    assert python_output(code) == ""


def test_client_import_does_not_load_pandas_or_pyarrow():
    code = (
        "import sys, tiled.client\n"
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    )
    assert python_output(code) == "[]"


def test_the_command_line_loads_the_database_layer_only_when_a_command_needs_it():
    """``tiled register`` and ``tiled --help`` start without SQLAlchemy, Alembic or
    FastAPI (their import was most of the command's start-up)."""
    code = (
        "import sys, tiled.cli.main, tiled.cli.register\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'fastapi', 'pandas') "
        "if m in sys.modules))"
    )
    assert python_output(code) == "[]"


def test_the_server_starts_without_format_libraries_or_alembic():
    """``tiled serve directory`` answers before loading numpy, pyarrow, pandas, h5py or
    Alembic (together ~0.2 s of its start-up); they load on first use."""
    code = (
        "import sys, tiled.cli.main, tiled.cli.serve, tiled.server.app, tiled.server.runner\n"
        "import tiled.server.indexing, tiled.catalog.database, tiled.cli.progress\n"
        "heavy = ('numpy', 'pyarrow', 'pandas', 'h5py', 'tifffile', 'zarr', 'PIL', 'alembic')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    assert python_output(code) == "[]"
