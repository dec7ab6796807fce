"""``tiled catalog init|upgrade-database``, in-process."""

from typer.testing import CliRunner

from tiled.cli.main import app

runner = CliRunner()


def test_init_then_upgrade(tmp_path):
    uri = str(tmp_path / "catalog.db")
    result = runner.invoke(app, ["catalog", "init", uri])
    assert result.exit_code == 0, result.output
    assert "Initialised the catalog" in result.output
    result = runner.invoke(app, ["catalog", "upgrade-database", uri])
    assert result.exit_code == 0, result.output
    assert "current schema" in result.output


def test_upgrade_of_a_missing_catalog_fails_with_advice(tmp_path):
    result = runner.invoke(app, ["catalog", "upgrade-database", str(tmp_path / "nope.db")])
    assert result.exit_code == 1
    assert "tiled catalog init" in result.output


def test_postgres_password_is_masked_in_errors():
    uri = "postgresql://tiled:hunter2@127.0.0.1:1/tiled"
    result = runner.invoke(app, ["catalog", "init", uri])
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert "Cannot open the catalog" in result.output
