"""Checklist, error cases: the official client raises the same exception types against our
server as against Tiled's (statuses as in the spec's captures, error-*.json and raw-*.json).

Many mistakes never reach the server: the client checks indexes, blocks, partitions and
columns against the structure it was given, so those also prove our structures are right.
"""

from __future__ import annotations

import pytest

from .conftest import differs_on_tiled

CLIENT_ERROR = "tiled.client.utils.ClientError"


@pytest.fixture(scope="module")
def results(served, tmp_path_factory):
    return served.run("errors", tmp_path_factory.mktemp("errors"))


def test_no_server_errors(results):
    assert results.server_errors == []


@pytest.mark.parametrize(
    ("check", "type_name", "status"),
    [
        ("unknown_path", "builtins.KeyError", None),
        ("unknown_nested_path", "builtins.KeyError", None),
        ("unknown_path_in_from_uri", CLIENT_ERROR, 404),
        ("index_out_of_range", "builtins.IndexError", None),
        ("negative_index_out_of_range", "builtins.IndexError", None),
        ("too_many_indices", "builtins.IndexError", None),
        ("block_out_of_range", "builtins.IndexError", None),
        ("block_wrong_ndim", CLIENT_ERROR, 422),
        ("block_slice_out_of_range", "builtins.IndexError", None),
        ("partition_out_of_range", "builtins.IndexError", None),
        ("unknown_column_read", "builtins.KeyError", None),
        ("unknown_column_partition", "builtins.KeyError", None),
        ("unsupported_export_format", CLIENT_ERROR, 406),
        ("wrong_key_then_browse", CLIENT_ERROR, 401),
        ("write_on_public_server_without_key", CLIENT_ERROR, 401),
        ("delete_inside_a_file", CLIENT_ERROR, 405),
    ],
)
def test_exception_type(results, check, type_name, status):
    error = results.raised(check, type_name)
    assert error["status"] == status


def test_server_messages_reach_the_user(results):
    assert "No such entry" in results.error("unknown_path_in_from_uri")["message"]
    assert "Invalid API key" in results.error("wrong_key_then_browse")["message"]
    assert "image/gif" in results.error("unsupported_export_format")["message"]


def test_unserved_search_deep_fails_cleanly(results, served, request):
    differs_on_tiled(request, served, "serves search_deep")
    # No search_deep link is sent, so the client refuses locally.
    results.raised("search_deep_without_link", "builtins.NotImplementedError")


def test_writing_data_is_refused_with_a_clear_message(results, served, request):
    differs_on_tiled(request, served, "stores written arrays itself (with --write)")
    error = results.raised("write_array_is_refused", CLIENT_ERROR)
    assert error["status"] == 400
    assert "register" in error["message"].lower()


def test_non_json_filter_value_is_400_not_500(results, served, request):
    differs_on_tiled(request, served, "500 for a filter value that is not JSON")
    value = results.value("filter_value_not_json")
    assert value["status"] == 400
    assert "value" in str(value["detail"]).lower()
