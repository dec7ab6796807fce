import pytest

from tiled.testing import databases

pytest_plugins = ["tiled.testing.fixtures"]


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
