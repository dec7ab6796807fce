"""``tiled index explain``: indexed or not, under which key, and why; exit codes 0/1/2."""

import os

import numpy
import pytest
import tifffile
from typer.testing import CliRunner

from tiled.cli.main import app
from tiled.registration.explain import explain
from tiled.registration.plan import options_from_cli

runner = CliRunner()


def npy(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        numpy.save(file, numpy.zeros((2, 2)))
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    npy(root / "raw" / "a.npy")
    for i in (1, 2, 10):
        tifffile.imwrite(root / "raw" / f"img_{i}.tif", numpy.zeros((4, 4), "u1"))
    (root / "t.csv").write_text("a\n1\n")
    npy(root / "t.npy")
    npy(root / ".cache" / "hidden.npy")
    (root / "notes.txt").write_text("hello")
    (root / "bad.h5").write_bytes(b"garbage")
    os.utime(root / "bad.h5", (1e9, 1e9))  # long unchanged: corrupt, not being written
    npy(tmp_path / "outside.npy")
    (root / "link.npy").symlink_to(tmp_path / "outside.npy")
    return root


def run(*args):
    return runner.invoke(app, ["index", "explain", *map(str, args)])


def test_indexed_file_and_sequence_frame(tree):
    result = run(tree / "raw" / "a.npy", "--root", tree)
    assert result.exit_code == 0, result.output
    assert "'raw/a'" in result.output
    assert "application/x-npy" in result.output
    result = run(tree / "raw" / "img_10.tif", "--root", tree)
    assert result.exit_code == 0
    assert "'raw/img_'" in result.output
    assert "frame 3 of 3" in result.output


def test_directories_are_containers(tree):
    result = run(tree / "raw", "--root", tree)
    assert result.exit_code == 0
    assert "container" in result.output


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("t.csv", "collision"),
        (".cache/hidden.npy", "hidden"),
        ("notes.txt", "unrecognised"),
        ("bad.h5", "corrupt"),
        ("link.npy", "symlink-outside"),
        ("missing.npy", "missing"),
    ],
)
def test_not_indexed_and_why(tree, name, words):
    result = run(tree / name, "--root", tree)
    assert result.exit_code == 1, result.output
    assert words in result.output
    if name == "t.csv":
        assert "t.npy" in result.output


def test_outside_the_root(tree, tmp_path):
    result = run(tmp_path / "outside.npy", "--root", tree)
    assert result.exit_code == 1
    assert "outside-root" in result.output


def test_options_change_the_verdict(tree):
    assert run(tree / "notes.txt", "--root", tree, "--ext", ".txt=text/csv").exit_code == 0
    result = run(tree / "raw" / "a.npy", "--root", tree, "--include-ext", ".csv")
    assert result.exit_code == 1
    assert "excluded-extension" in result.output
    result = run(tree / "t.csv", "--root", tree, "--keep-ext")
    assert result.exit_code == 0
    assert "'t.csv'" in result.output


def test_default_root_is_the_parent(tree):
    assert run(tree / "raw" / "a.npy").exit_code == 0


@pytest.mark.parametrize(
    "bad",
    [["--ext", ".x"], ["--mimetype-hook", "nope"], ["--adapter", "x/y=no_such_mod:C"]],
)
def test_usage_errors_exit_2(tree, bad):
    result = run(tree / "t.csv", "--root", tree, *bad)
    assert result.exit_code == 2, result.output


def test_explain_function_without_inspection(tree):
    verdict = explain(tree / "bad.h5", tree, options_from_cli([tree]), inspect=False)
    assert verdict.indexed
    assert verdict.key_path == ("bad",)
    assert verdict.mimetype == "application/x-hdf5"
