"""docs/adapters.md works as written: its example adapter registers three ways and passes
the conformance suite (adapter level, raw HTTP and the client), as the guide says."""

import re
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiled.adapters.registry import (
    check_complete,
    inspect,
    load_entry_points,
    register_adapter_spec,
)

DOC = Path(__file__).parent.parent / "docs" / "adapters.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture
def example(tmp_path):
    """The guide's adapter as an importable module under a unique name."""
    name = f"numbers_adapter_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(blocks("python")[0])
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))


def suite_class():
    namespace = {}
    exec(compile(blocks("python")[1], str(DOC), "exec"), namespace)
    return namespace["TestNumbers"]


def test_the_example_passes_the_conformance_suite(example, tmp_path):
    assert register_adapter_spec(f"{example}:NumbersAdapter") == ["text/x-numbers"]
    suite = suite_class()()
    written = suite.cases(tmp_path / "data")
    suite.test_inspection_matches_native(written)
    suite.test_full_read_matches_native(written)
    suite.test_slices_match_native(written)
    suite.test_every_block_matches_native(written)
    for how in ("truncate", "overwrite"):
        suite.test_broken_file_is_a_clear_error(written, tmp_path / how, how)
    suite.test_client_reads_match_native(written, tmp_path)
    assert check_complete("text/x-numbers", written[0].paths) is None
    unfinished = tmp_path / "unfinished.numbers"
    unfinished.write_text("1.0\n2.")
    assert "not finished" in check_complete("text/x-numbers", [unfinished])


def test_the_entry_point_snippet(example, tmp_path):
    toml = blocks("toml")[0]
    mimetype, target = re.search(r'"(.+)" = "(.+)"', toml).groups()
    info = tmp_path / f"{example}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {example}\nVersion: 1.0\n")
    target = target.replace("numbers_adapter", example)
    (info / "entry_points.txt").write_text(f"[tiled.adapters]\n{mimetype} = {target}\n")
    assert mimetype in load_entry_points()
    data = tmp_path / "x.numbers"
    data.write_text("3\n4\n")
    assert inspect(mimetype, [data]).structure.shape == (2,)


def test_the_command_line_option(example, tmp_path):
    from tiled.cli.main import app

    assert "--adapter text/x-numbers=numbers_adapter:NumbersAdapter" in DOC.read_text()
    result = CliRunner().invoke(
        app,
        ["serve", "catalog", str(tmp_path / "c.db"), "--adapter", f"{example}:Missing"],
    )
    assert result.exit_code == 1
    assert "Missing" in result.output
