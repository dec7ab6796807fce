"""Path checks that guard every file access (no server needed)."""

import os

import pytest

from tiled.errors import AccessDeniedError, BadRequestError, DataGoneError
from tiled.server.file_access import (
    CheckedPaths,
    path_from_data_uri,
    resolve_asset_path,
    resolve_asset_paths,
)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.tif").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside / "secret.txt", root / "link-out.tif")
    os.symlink(root / "sub" / "ok.tif", root / "link-in.tif")
    return root, outside


def test_inside_paths_resolve(tree):
    root, _ = tree
    assert resolve_asset_path(f"file://{root}/sub/ok.tif", [root]) == root / "sub" / "ok.tif"
    assert resolve_asset_path(f"file://localhost{root}/sub/ok.tif", [root]).name == "ok.tif"
    assert resolve_asset_path(f"file://{root}/link-in.tif", [root]).name == "ok.tif"
    assert resolve_asset_path(f"file://{root}/sub/%6Fk.tif", [root]).name == "ok.tif"


@pytest.mark.parametrize(
    "uri",
    [
        "file://{outside}/secret.txt",
        "file://{root}/../outside/secret.txt",
        "file://{root}/sub/%2E%2E/%2E%2E/outside/secret.txt",
        "file://{root}/link-out.tif",
        "file:///etc/passwd",
        "file://otherhost{root}/sub/ok.tif",
    ],
)
def test_escapes_are_refused(tree, uri):
    root, outside = tree
    with pytest.raises(AccessDeniedError):
        resolve_asset_path(uri.format(root=root, outside=outside), [root])
    inside = f"file://{root}/sub/ok.tif"
    with pytest.raises(AccessDeniedError):  # the batched form refuses the same escapes
        resolve_asset_paths([inside, uri.format(root=root, outside=outside)], [root])


def test_batched_resolution_matches_one_by_one(tree, tmp_path):
    root, _ = tree
    os.symlink(root / "sub", root / "dir-link")
    uris = [
        f"file://{root}/sub/ok.tif",
        f"file://{root}/link-in.tif",
        f"file://{root}/dir-link/ok.tif",
        f"file://{root}/dir-link/../sub/ok.tif",
        f"file://{root}/sub/%6Fk.tif",
        f"file://{root}/sub/.",
    ]
    assert resolve_asset_paths(uris, [root]) == [resolve_asset_path(u, [root]) for u in uris]


def test_batched_resolution_reports_missing_files(tree):
    root, _ = tree
    os.symlink(root / "sub" / "gone.tif", root / "dangling.tif")
    uris = [
        f"file://{root}/sub/ok.tif",
        f"file://{root}/sub/gone.tif",
        f"file://{root}/nodir/x.tif",
        f"file://{root}/sub/ok.tif/x",
        f"file://{root}/dangling.tif",
    ]
    assert resolve_asset_paths(uris, [root]) == [root / "sub" / "ok.tif", None, None, None, None]


def test_no_readable_directories_means_nothing_is_readable(tree):
    root, _ = tree
    with pytest.raises(AccessDeniedError):
        resolve_asset_path(f"file://{root}/sub/ok.tif", [])


@pytest.mark.parametrize(
    "uri", ["http://example.com/x", "relative/path", "file://%2Fetc", "file:///a%00b"]
)
def test_malformed_uris_are_bad_requests(uri):
    with pytest.raises((BadRequestError, AccessDeniedError)):
        path_from_data_uri(uri)


def test_prefix_sibling_is_not_inside(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    sibling = tmp_path / "data-other"
    sibling.mkdir()
    (sibling / "f").write_text("x")
    with pytest.raises(AccessDeniedError):
        resolve_asset_path(f"file://{sibling}/f", [root])


def test_checked_paths_check_each_file_when_first_used(tree):
    """A reader's paths: each resolved and checked on first use, with errors naming the
    node and not the server's paths; the files nobody asks for are never touched."""
    root, _ = tree
    paths = CheckedPaths(
        [
            f"file://{root}/sub/ok.tif",
            f"file://{root}/link-out.tif",
            f"file://{root}/sub/gone.tif",
            f"file://{root}/link-in.tif",
        ],
        [root],
        "scans/seq",
    )
    assert len(paths) == 4
    assert paths[0] == root / "sub" / "ok.tif"
    assert paths[-1] == root / "sub" / "ok.tif"  # a symlink inside: its target
    assert paths[3:] == [root / "sub" / "ok.tif"]
    with pytest.raises(AccessDeniedError, match="scans/seq") as denied:
        paths[1]
    assert str(root) not in str(denied.value)
    with pytest.raises(DataGoneError, match="scans/seq") as gone:
        paths[2]
    assert str(root) not in str(gone.value)
    with pytest.raises(IndexError):
        paths[4]
    with pytest.raises(AccessDeniedError):
        list(paths)  # iterating checks every file
