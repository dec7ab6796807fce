"""The conformance checks through our Python client: register with ``client.new`` (the
data source a user would build) and read with ``read``, numpy indexing, ``read_block``,
``read_partition`` and column access, comparing with the native library's reads."""

from __future__ import annotations

from typing import Any

import numpy
import pandas

from ..structures.data_source import DataSource
from .adapters import ArrayCase, ContainerCase, TableCase
from .comparison import assert_same_array, assert_same_frame, select
from .selections import awkward_selections, every_block


def register_with_client(container: Any, case: Any, body: dict[str, Any]) -> Any:
    """``container.new(...)`` with the data source of a registration body; the new node."""
    return container.new(
        body["structure_family"],
        [DataSource.from_json(body["data_sources"][0])],
        key=case.name,
        metadata=body["metadata"],
        specs=[s["name"] for s in body["specs"]],
    )


def check_with_client(node: Any, case: Any) -> None:
    if isinstance(case, ArrayCase):
        _check_array(node, case.expected, case.name)
    elif isinstance(case, TableCase):
        _check_table(node, case.partitions, case.name)
    elif isinstance(case, ContainerCase):
        _check_tree(node, case.tree, case.name)


def _check_array(node: Any, expected: numpy.ndarray, what: str) -> None:
    assert node.shape == expected.shape, what
    assert_same_array(node.read(), expected, what)
    for selection in awkward_selections(expected.shape):
        assert_same_array(node.read(selection), select(expected, selection), f"{what}{selection}")
    structure = node.structure()
    for block in every_block(structure.chunks, limit=8):
        offset = structure.block_offset(block)
        shape = structure.block_shape(block)
        region = tuple(slice(o, o + n) for o, n in zip(offset, shape, strict=True))
        assert_same_array(node.read_block(block), expected[region], f"{what} block {block}")


def _check_table(node: Any, partitions: list[pandas.DataFrame], what: str) -> None:
    names = [str(c) for c in partitions[0].columns]
    assert list(node.columns) == names, what
    whole = pandas.concat(partitions, ignore_index=True)
    assert_same_frame(node.read(), whole, what)
    for i, expected in enumerate(partitions):
        assert_same_frame(node.read_partition(i), expected, f"{what} partition {i}")
    subset = names[::-1][: max(1, len(names) - 1)]
    assert_same_frame(node.read(subset), whole[subset], f"{what} {subset}")
    values = node[names[0]].read()
    assert len(values) == len(whole), f"{what}[{names[0]!r}]"


def _check_tree(node: Any, tree: dict[str, Any], what: str) -> None:
    assert list(node) == list(tree), what
    for key, expected in tree.items():
        child = node[key]
        if isinstance(expected, dict):
            _check_tree(child, expected, f"{what}/{key}")
        elif isinstance(expected, pandas.DataFrame):
            _check_table(child, [expected], f"{what}/{key}")
        else:
            _check_array(child, expected, f"{what}/{key}")
