"""Metadata: read-only views, JSON Patch updates from the diff, replacement, revisions."""

import json
from datetime import datetime

import pytest

from tiled.client import ClientUnsupportedOperationError, DictView
from tiled.client.metadata import metadata_patch, specs_patch
from tiled.structures.core import Spec

from .conftest import RecordingTransport

pytestmark = pytest.mark.serial


def test_dict_view_is_read_only_and_compares_like_a_dict():
    view = DictView({"a": 1, "nested": {"b": [1, 2]}})
    assert view == {"a": 1, "nested": {"b": [1, 2]}}
    assert {"a": 1, "nested": {"b": [1, 2]}}.__eq__(view) is NotImplemented  # so ours decides
    assert view != {"a": 2}
    assert isinstance(view["nested"], DictView)
    with pytest.raises(TypeError):
        view["a"] = 2
    with pytest.raises(TypeError):
        view["nested"]["b"] = 3
    view["nested"]["b"].append(3)  # a copy
    assert view["nested"]["b"] == [1, 2]
    copy = view.copy()
    copy["nested"]["b"].append(3)
    assert view["nested"]["b"] == [1, 2]
    assert repr(view) == "DictView({'a': 1, 'nested': {'b': [1, 2]}})"
    assert sorted(view) == ["a", "nested"]
    assert len(view) == 2


def test_patches_are_computed_from_the_difference():
    current = {"color": "red", "n": 1, "nested": {"a": 5}}
    ops = metadata_patch(current, {"color": "blue", "added": [1, 2], "n": 1})
    assert sorted(ops, key=lambda op: op["path"]) == [
        {"op": "add", "path": "/added", "value": [1, 2]},
        {"op": "replace", "path": "/color", "value": "blue"},
    ]
    assert metadata_patch(current, {"nested": {"a": 6}}) == [
        {"op": "replace", "path": "/nested/a", "value": 6}
    ]
    assert metadata_patch(current, {}) == []
    assert specs_patch([Spec("A")], ["A", Spec("B", "1")]) == [
        {"op": "add", "path": "/1", "value": {"name": "B", "version": "1"}}
    ]
    with pytest.raises(TypeError, match="dict"):
        metadata_patch(current, [1])


@pytest.fixture
def node(fresh):
    with fresh.client() as client:
        client.create_container("c", metadata={"color": "red", "n": 1}, specs=["A"])
        yield client, client["c"]


def test_update_metadata_sends_a_json_patch(fresh):
    transport = RecordingTransport()
    with fresh.client(transport=transport) as client:
        node = client.create_container("c", metadata={"color": "red", "keep": True})
        node.update_metadata({"color": "blue", "added": [1, 2]}, specs=["S"])
        assert node.metadata == {"color": "blue", "keep": True, "added": [1, 2]}
        assert node.specs == [Spec("S")]
        assert client["c"].metadata == node.metadata
        assert client["c"].specs == [Spec("S")]
    patch = next(r for r in transport.requests if r.method == "PATCH")
    body = json.loads(patch.content)
    assert body["content-type"] == "application/json-patch+json"
    assert {op["op"] for op in body["metadata"]} == {"add", "replace"}
    assert body["specs"] == [{"op": "add", "path": "/0", "value": {"name": "S", "version": None}}]


def test_update_with_nothing_changed_sends_nothing(fresh):
    transport = RecordingTransport()
    with fresh.client(transport=transport) as client:
        node = client.create_container("c", metadata={"a": 1})
        before = len(transport.requests)
        node.update_metadata({"a": 1})
        node.update_metadata()
        assert len(transport.requests) == before


def test_replace_metadata(node):
    client, c = node
    c.replace_metadata({"only": 1})
    assert c.metadata == {"only": 1}
    assert c.specs == [Spec("A")]  # None keeps
    c.replace_metadata(specs=[Spec("B", "2")])
    assert client["c"].metadata == {"only": 1}
    assert client["c"].specs == [Spec("B", "2")]


def test_revisions(node):
    client, c = node
    c.update_metadata({"n": 2})
    c.update_metadata({"n": 3})
    c.replace_metadata({"n": 4})
    c.update_metadata({"n": 5}, drop_revision=True)
    revisions = c.metadata_revisions
    assert len(revisions) == 3
    assert [r["metadata"]["n"] for r in revisions] == [1, 2, 3]
    first = revisions[0]
    assert first["revision_number"] == 1
    assert first["specs"] == [{"name": "A", "version": None}]
    assert isinstance(first["time_updated"], datetime)
    assert revisions[-1]["metadata"]["n"] == 3
    assert [r["metadata"]["n"] for r in revisions[1:]] == [2, 3]
    assert [r["metadata"]["n"] for r in revisions[::-1]] == [3, 2, 1]
    with pytest.raises(IndexError):
        revisions[3]
    assert client["c"].metadata["n"] == 5


def test_refresh_sees_changes_made_elsewhere(node, fresh):
    _, c = node
    with fresh.client() as other:
        other["c"].update_metadata({"color": "green"})
    assert c.metadata["color"] == "red"
    assert c.refresh().metadata["color"] == "green"


def test_nodes_inside_files_cannot_be_changed(served):
    with served.client() as client:
        entry = client["h5/entry"]
        assert entry.metadata == {"NX_class": "NXentry"}
        with pytest.raises(ClientUnsupportedOperationError, match="405"):
            entry.update_metadata({"x": 1})
        with pytest.raises(ClientUnsupportedOperationError):
            entry.delete()
