"""plan_directory and walk: keys, sequences, order, options, collisions, symbolic links."""

import os
import sys
from collections import Counter
from pathlib import Path

import numpy
import pytest
import tifffile

from tiled.errors import BadRequestError
from tiled.registration.model import Planned, PlannedContainer, Skipped
from tiled.registration.plan import (
    PlanOptions,
    options_from_cli,
    plan_directory,
    walk,
)
from tiled.testing.trees import write_every_format


def npy(path, value=0, shape=(2, 2)):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # numpy.save(path) would append ".npy"
        numpy.save(file, numpy.full(shape, value, "f4"))
    return path


def tif(path, shape=(4, 4), dtype="u1"):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, numpy.zeros(shape, dtype))
    return path


def by_key(items):
    return {"/".join(x.key_path): x for x in items if not isinstance(x, Skipped)}


def skipped(items):
    return {x.path.name: x for x in items if isinstance(x, Skipped)}


def test_every_format(tmp_path):
    expected = write_every_format(tmp_path)
    plan = plan_directory(tmp_path, ("top",), PlanOptions())
    assert not plan.skipped
    assert not plan.containers
    got = {p.key_path: p for p in plan.entries}
    assert set(got) == {("top", key) for key in expected}
    for key, want in expected.items():
        planned = got["top", key]
        assert planned.mimetype == want.mimetype, key
        assert len(planned.files) == want.assets, key
        plural = want.mimetype.startswith(("multipart/", "text/csv", "application/x-parquet"))
        plural = plural or want.mimetype == "application/vnd.apache.arrow.file"
        assert planned.parameter == ("data_uris" if plural else "data_uri"), key
    store = got["top", "store"].files[0]
    assert store.is_directory
    assert store.size is None
    table = got["top", "table"].files[0]
    info = os.stat(tmp_path / "table.csv")
    assert (table.size, table.mtime_ns) == (info.st_size, info.st_mtime_ns)
    assert table.path == (tmp_path / "table.csv").resolve()
    assert table.path.is_absolute()


def test_sequences_natural_order_mixed_suffixes_and_order_of_groups(tmp_path):
    for name in ["img_10.tif", "img_2.tiff", "img_1.tif", "img_003.TIF"]:
        tif(tmp_path / name)
    npy(tmp_path / "7.npy")
    npy(tmp_path / "8.npy")
    npy(tmp_path / "alone.npy")
    (tmp_path / "sub").mkdir()
    plan = plan_directory(tmp_path, (), PlanOptions())
    keys = [p.key_path[-1] for p in plan.entries]
    assert keys == ["_unnamed", "img_", "alone"]  # sequences first
    images = plan.entries[1]
    assert [f.path.name for f in images.files] == [
        "img_1.tif",
        "img_2.tiff",
        "img_003.TIF",
        "img_10.tif",
    ]
    assert images.mimetype == "multipart/related;type=image/tiff"
    assert images.parameter == "data_uris"
    assert [c.key_path for c in plan.containers] == [("sub",)]


def test_numbered_single_file_is_a_sequence_of_one_but_compound_names_are_not(tmp_path):
    tif(tmp_path / "shot_5.tif")
    tif(tmp_path / "run_5.ome.tif")
    plan = plan_directory(tmp_path, (), PlanOptions())
    got = {p.key_path[0]: p.mimetype for p in plan.entries}
    assert got == {"shot_": "multipart/related;type=image/tiff", "run_5": "image/tiff"}


def test_keys_strip_all_suffixes_unless_keep_ext(tmp_path):
    (tmp_path / "thing.v2.csv").write_text("a\n1\n")
    assert by_key(walk(tmp_path, PlanOptions())).keys() == {"thing"}
    assert by_key(walk(tmp_path, PlanOptions(keep_ext=True))).keys() == {"thing.v2.csv"}


def test_names_that_cannot_be_keys_are_skipped(tmp_path):
    (tmp_path / "bad\x01name.csv").write_text("a\n1\n")
    (tmp_path / "good.csv").write_text("a\n1\n")
    plan = plan_directory(tmp_path, (), PlanOptions())
    assert [p.key_path for p in plan.entries] == [("good",)]
    (skip,) = plan.skipped
    assert skip.reason == "unrecognised"
    assert "cannot be a key" in skip.detail


def test_hidden_files_and_directories_are_skipped_and_not_entered(tmp_path):
    npy(tmp_path / ".secret.npy")
    npy(tmp_path / ".git" / "inside.npy")
    npy(tmp_path / "seen.npy")
    items = list(walk(tmp_path, PlanOptions()))
    assert by_key(items).keys() == {"seen"}
    assert {k: s.reason for k, s in skipped(items).items()} == {
        ".secret.npy": "hidden",
        ".git": "hidden",
    }


def test_walk_is_top_down_and_streams_containers_first(tmp_path):
    npy(tmp_path / "a" / "b" / "c" / "deep.npy")
    npy(tmp_path / "a" / "top.npy")
    npy(tmp_path / "z" / "other.npy")
    order = ["/".join(x.key_path) for x in walk(tmp_path, PlanOptions())]
    for parent, child in [("a", "a/top"), ("a", "a/b"), ("a/b", "a/b/c"), ("a/b/c", "a/b/c/deep")]:
        assert order.index(parent) < order.index(child)
    assert order.index("z") < order.index("z/other")
    assert len(order) == len(set(order)) == 7


def test_walk_is_iterative_beyond_the_recursion_limit(tmp_path):
    depth = sys.getrecursionlimit() + 50
    path = str(tmp_path)
    for _ in range(depth):  # os.makedirs itself recurses
        path += "/d"
        os.mkdir(path)
    try:
        items = list(walk(tmp_path, PlanOptions()))
    finally:
        for _ in range(depth):  # so does shutil.rmtree
            os.rmdir(path)
            path = os.path.dirname(path)
    assert len([x for x in items if isinstance(x, PlannedContainer)]) == depth


def test_include_ext_filters_files_but_never_stops_recursion(tmp_path):
    (tmp_path / "keep.csv").write_text("a\n1\n")
    npy(tmp_path / "drop.npy")
    (tmp_path / "deep.npy.d").mkdir()
    (tmp_path / "deep.npy.d" / "inner.csv").write_text("a\n1\n")
    npy(tmp_path / "bare")
    items = list(walk(tmp_path, options_from_cli(include_ext=["CSV"])))
    assert by_key(items).keys() == {"keep", "deep", "deep/inner"}
    assert skipped(items)["drop.npy"].reason == "excluded-extension"
    assert skipped(items)["bare"].reason == "excluded-extension"
    # A file recognised by content passes when an included extension maps to its format.
    items = list(walk(tmp_path, options_from_cli(include_ext=[".npy,.csv"])))
    assert {"drop", "bare"} <= by_key(items).keys()


def test_ext_override_and_unknown_extension(tmp_path):
    npy(tmp_path / "frame.raw")
    (tmp_path / "notes.txt").write_text("hello")
    items = list(walk(tmp_path, PlanOptions()))
    assert by_key(items)["frame"].mimetype == "application/x-npy"  # by content
    assert skipped(items)["notes.txt"].reason == "unrecognised"
    options = options_from_cli(ext=[".txt=text/csv"])
    assert by_key(walk(tmp_path, options))["notes"].mimetype == "text/csv"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"ext": [".txt"]}, ".foo=mime/type"),
        ({"ext": [".txt=text/nonsense"]}, "no reader"),
        ({"mimetype_hook": "tests.registration.hooks:missing"}, "Cannot load"),
        ({"mimetype_hook": "no_such_module_xyz:f"}, "Cannot load"),
        ({"walker": "tests.registration.hooks"}, "package.module:function"),
        ({"include_ext": ["."]}, "--include-ext"),
    ],
)
def test_option_typos_fail_at_start_up(kwargs, words):
    with pytest.raises(BadRequestError, match=words):
        options_from_cli(**kwargs)


def test_roots_must_be_directories(tmp_path):
    with pytest.raises(BadRequestError, match="not a directory"):
        options_from_cli([tmp_path / "nope"])


def test_mimetype_hook(tmp_path):
    npy(tmp_path / "x.npy").rename(tmp_path / "x.dat")
    (tmp_path / "t.csv").write_text("a\n1\n")
    options = options_from_cli(mimetype_hook="tests.registration.hooks:dat_is_npy")
    got = by_key(walk(tmp_path, options))
    assert got["x"].mimetype == "application/x-npy"
    assert got["t"].mimetype == "text/csv"  # the hook said None: fall back
    broken = options_from_cli(mimetype_hook="tests.registration.hooks:broken_hook")
    reasons = {s.reason for s in skipped(walk(tmp_path, broken)).values()}
    assert reasons == {"unrecognised"}


def test_walker_hook(tmp_path):
    for i in (2, 1):
        npy(tmp_path / "a.bundle" / f"p{i}x.npy")
    npy(tmp_path / "plain" / "b.npy")
    npy(tmp_path / "broken" / "c.npy")
    options = options_from_cli(walker="tests.registration.hooks:only_bundles")
    items = list(walk(tmp_path, options))
    got = by_key(items)
    assert got.keys() == {"a", "a/frames", "plain", "plain/b", "broken"}
    assert skipped(items)["broken"].reason == "unrecognised"
    assert "walker hook failed" in skipped(items)["broken"].detail
    assert [f.path.name for f in got["a/frames"].files] == ["p1x.npy", "p2x.npy"]


def test_collisions_skip_every_claimant(tmp_path):
    (tmp_path / "data.csv").write_text("a\n1\n")
    npy(tmp_path / "data.npy")
    npy(tmp_path / "data" / "inside.npy")
    npy(tmp_path / "scan_1.npy")
    npy(tmp_path / "scan_.npy")  # key "scan_", like the sequence's
    npy(tmp_path / "fine.npy")
    items = list(walk(tmp_path, PlanOptions()))
    assert by_key(items).keys() == {"fine"}
    skips = skipped(items)
    for name in ["data.csv", "data.npy", "data", "scan_1.npy", "scan_.npy"]:
        assert skips[name].reason == "collision", name
    assert "'data'" in skips["data.csv"].detail
    assert "'data.npy'" in skips["data.csv"].detail
    assert skips["data"].key_path == ("data",)


def test_symlinks_inside_outside_broken_and_cycles(tmp_path):
    root = tmp_path / "root"
    outside = npy(tmp_path / "elsewhere" / "far.npy")
    real = npy(root / "real" / "file.npy")
    (root / "real" / "up").symlink_to(root)  # a link to an ancestor: a cycle
    (root / "alias.npy").symlink_to(real)
    (root / "view").symlink_to(root / "real")  # a second view of a directory inside
    (root / "far.npy").symlink_to(outside)
    (root / "far_dir").symlink_to(outside.parent)
    (root / "dangling.npy").symlink_to(root / "nothing.npy")
    (root / "loop1").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop1")
    items = list(walk(root, PlanOptions()))
    got = by_key(items)
    assert got["alias"].files[0].path == real  # resolved
    assert {"real", "real/file", "view", "view/file"} <= got.keys()
    skips = Counter(
        ("/".join(x.path.relative_to(root).parts), x.reason)
        for x in items
        if isinstance(x, Skipped)
    )
    assert skips == {
        ("real/up", "symlink-cycle"): 2,  # once in real/, once in view/ (same directory)
        ("far.npy", "symlink-outside"): 1,
        ("far_dir", "symlink-outside"): 1,
        ("dangling.npy", "unreadable"): 1,
        ("loop1", "symlink-cycle"): 1,
        ("loop2", "symlink-cycle"): 1,
    }


def test_crossed_directory_links_do_not_loop(tmp_path):
    npy(tmp_path / "a" / "x.npy")
    npy(tmp_path / "b" / "y.npy")
    (tmp_path / "a" / "to_b").symlink_to(tmp_path / "b")
    (tmp_path / "b" / "to_a").symlink_to(tmp_path / "a")
    items = list(walk(tmp_path, PlanOptions()))
    reasons = Counter(x.reason for x in items if isinstance(x, Skipped))
    assert reasons == {"symlink-cycle": 2}
    assert {"a/to_b/y", "b/to_a/x"} <= by_key(items).keys()


def test_roots_allow_links_between_served_directories(tmp_path):
    npy(tmp_path / "one" / "a.npy")
    npy(tmp_path / "two" / "b.npy")
    (tmp_path / "one" / "link.npy").symlink_to(tmp_path / "two" / "b.npy")
    alone = by_key(walk(tmp_path / "one", PlanOptions()))
    assert "link" not in alone
    both = PlanOptions(roots=(tmp_path / "one", tmp_path / "two"))
    assert "link" in by_key(walk(tmp_path / "one", both))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_directory_and_file(tmp_path):
    npy(tmp_path / "locked" / "a.npy")
    bare = npy(tmp_path / "bare")
    os.chmod(tmp_path / "locked", 0)
    os.chmod(bare, 0)
    try:
        items = list(walk(tmp_path, PlanOptions()))
    finally:
        os.chmod(tmp_path / "locked", 0o755)
        os.chmod(bare, 0o644)
    reasons = {x.path.name: x.reason for x in items if isinstance(x, Skipped)}
    assert reasons == {"locked": "unreadable", "bare": "unreadable"}


def test_special_files_are_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe")  # sniffing it would block forever
    (skip,) = plan_directory(tmp_path, (), PlanOptions()).skipped
    assert skip.reason == "unrecognised"
    assert "not a regular file" in skip.detail


def test_plan_directory_of_a_missing_directory(tmp_path):
    plan = plan_directory(tmp_path / "gone", ("gone",), PlanOptions())
    (skip,) = plan.skipped
    assert skip.reason == "unreadable"
    assert skip.key_path == ("gone",)
    assert next(iter(walk(tmp_path / "gone", PlanOptions()))).reason == "unreadable"


def test_planned_values_are_plain_and_hashable(tmp_path):
    npy(tmp_path / "a.npy")
    (planned,) = plan_directory(Path(tmp_path), (), PlanOptions()).entries
    assert isinstance(planned, Planned)
    state = planned.files[0]
    assert planned.fingerprint == ((state.data_uri, state.size, state.mtime_ns),)
