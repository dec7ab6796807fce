"""The adapter conformance suite: every format's test class subclasses one of these.

A subclass writes real files with the format's own library and says what that library
reads back (``cases``); the suite then checks that inspection, full reads, slices, every
block and (for tables) partitions and columns give exactly the same, that reopening with
the registered structure changes nothing, and that a truncated or corrupted file fails
with a clear :class:`~tiled.errors.DataUnavailableError` rather than anything else::

    class TestNPY(ArraySuite):
        def cases(self, directory):
            data = numpy.arange(12).reshape(3, 4)
            numpy.save(directory / "a.npy", data)
            return [ArrayCase("a", "application/x-npy", [directory / "a.npy"], data)]

:class:`tiled.testing.served.ServedSuite` adds the same checks through a real server.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy
import pandas
import pytest

from ..adapters.registry import inspect, open_adapter
from ..errors import DataUnavailableError
from ..structures.array import ArrayStructure
from ..structures.container import FileContainerStructure
from ..structures.core import StructureFamily
from .comparison import assert_same_array, assert_same_frame, select
from .selections import awkward_selections, every_block


@dataclass
class ArrayCase:
    """Files holding one array, and the array the native library reads from them."""

    name: str
    mimetype: str
    paths: list[Path]
    expected: numpy.ndarray
    parameters: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None  # expected to be included in the metadata
    dims: tuple[str, ...] | None = None
    chunk_shape: tuple[int, ...] | None = None  # expected first block's shape


@dataclass
class TableCase:
    """Files holding one table, and each partition as the native library reads it."""

    name: str
    mimetype: str
    paths: list[Path]
    partitions: list[pandas.DataFrame]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContainerCase:
    """A file that is a tree: ``tree`` maps key to an ndarray, a DataFrame or a subtree."""

    name: str
    mimetype: str
    paths: list[Path]
    tree: dict[str, Any]
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # "a/b" -> subset
    dims: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "a/b" -> dims
    parameters: dict[str, Any] = field(default_factory=dict)


Case = ArrayCase | TableCase | ContainerCase


def open_case(case: Case, structure: Any = None) -> Any:
    return open_adapter(case.mimetype, case.paths, structure=structure, parameters=case.parameters)


def copy_case(case: Case, directory: Path) -> Case:
    """The same case with its files (or store directories) copied into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for path in case.paths:
        target = directory / path.name
        if path.is_dir():
            shutil.copytree(path, target)
        else:
            shutil.copy2(path, target)
        paths.append(target)
    return type(case)(**{**case.__dict__, "paths": paths})


def damage(case: Case, how: str) -> None:
    """Truncate to half (``how="truncate"``) or overwrite the first and the last bytes
    (where formats keep their headers and directories) of the case's first file (for a
    store directory: its largest file)."""
    victim = case.paths[0]
    if victim.is_dir():
        victim = max((p for p in victim.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    data = victim.read_bytes()
    if how == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    else:
        size = min(len(data) // 2, 64)
        victim.write_bytes(b"\x5a" * size + data[size : len(data) - size] + b"\x5a" * size)


def corrupted_copy(case: Case, directory: Path, how: str) -> Case:
    broken = copy_case(case, directory)
    damage(broken, how)
    return broken


def _read_everything(adapter: Any) -> None:
    family = StructureFamily(adapter.structure_family)
    if family in (StructureFamily.array, StructureFamily.table):
        adapter.read()
    else:
        for key in list(adapter.keys()):
            _read_everything(adapter[key])


def _failure(adapter_of: Any) -> str | None:
    """The message of the DataUnavailableError that reading everything raises, if any."""
    try:
        _read_everything(adapter_of())
    except DataUnavailableError as err:
        return str(err)
    return None


class _Suite:
    """What every suite does with broken files; ``truncation_must_fail`` is False for
    text formats, where half a file is still a valid (shorter) file."""

    truncation_must_fail = True

    def cases(self, directory: Path) -> list[Any]:
        raise NotImplementedError("write files with the native library and describe them")

    @pytest.fixture
    def written(self, tmp_path: Path) -> list[Any]:
        return self.cases(tmp_path / "data")

    @pytest.mark.parametrize("how", ["truncate", "overwrite"])
    def test_broken_file_is_a_clear_error(
        self, written: list[Any], tmp_path: Path, how: str
    ) -> None:
        for i, case in enumerate(written):
            registered = inspect(case.mimetype, case.paths, case.parameters).structure
            broken = corrupted_copy(case, tmp_path / f"broken-{how}-{i}", how)
            message = _failure(lambda: open_case(broken, registered))  # noqa: B023
            if message is None:
                if how == "overwrite" or self.truncation_must_fail:
                    pytest.fail(f"{case.name}: reading a {how}d file did not fail")
                continue
            assert str(tmp_path) not in message, "the message reveals a server path"


class ArraySuite(_Suite):
    def test_inspection_matches_native(self, written: list[ArrayCase]) -> None:
        for case in written:
            found = inspect(case.mimetype, case.paths, case.parameters)
            assert found.structure_family == StructureFamily.array, case.name
            structure = found.structure
            assert isinstance(structure, ArrayStructure)
            assert structure.shape == case.expected.shape, case.name
            assert [sum(c) for c in structure.chunks] == list(case.expected.shape)
            if case.chunk_shape is not None:
                assert tuple(c[0] for c in structure.chunks) == case.chunk_shape, case.name
            if case.dims is not None:
                assert structure.dims == case.dims, case.name
            if case.metadata is not None:
                assert case.metadata.items() <= found.metadata.items(), case.name

    def test_full_read_matches_native(self, written: list[ArrayCase]) -> None:
        for case in written:
            adapter = open_case(case)
            data = adapter.read()
            assert_same_array(data, case.expected, case.name)
            assert data.dtype == adapter.structure().data_type.to_numpy_dtype()

    def test_slices_match_native(self, written: list[ArrayCase]) -> None:
        for case in written:
            adapter = open_case(case)
            for selection in awkward_selections(case.expected.shape):
                got = adapter.read(selection)
                assert_same_array(got, select(case.expected, selection), f"{case.name}{selection}")

    def test_every_block_matches_native(self, written: list[ArrayCase]) -> None:
        for case in written:
            registered = inspect(case.mimetype, case.paths, case.parameters).structure
            adapter = open_case(case, registered)  # as the server opens it
            for block in every_block(registered.chunks):
                offset = registered.block_offset(block)
                shape = registered.block_shape(block)
                region = tuple(slice(o, o + n) for o, n in zip(offset, shape, strict=True))
                expected = case.expected[region]
                assert_same_array(adapter.read_block(block), expected, f"{case.name}{block}")
                inner = (slice(None, None, -1),) if expected.ndim else ()
                assert_same_array(
                    adapter.read_block(block, inner), expected[inner], f"{case.name}{block}[::-1]"
                )


class TableSuite(_Suite):
    def test_inspection_matches_native(self, written: list[TableCase]) -> None:
        for case in written:
            found = inspect(case.mimetype, case.paths, case.parameters)
            assert found.structure_family == StructureFamily.table, case.name
            assert found.structure.npartitions == len(case.partitions), case.name
            assert list(found.structure.columns) == [str(c) for c in case.partitions[0].columns]

    def test_partitions_match_native(self, written: list[TableCase]) -> None:
        for case in written:
            adapter = open_case(case, inspect(case.mimetype, case.paths, case.parameters).structure)
            for i, expected in enumerate(case.partitions):
                got = adapter.read_partition(i).to_pandas()
                assert_same_frame(got, expected, f"{case.name} partition {i}")

    def test_columns_and_whole_table_match_native(self, written: list[TableCase]) -> None:
        for case in written:
            adapter = open_case(case)
            names = [str(c) for c in case.partitions[0].columns]
            subset = names[::-1][: max(1, len(names) - 1)]
            for i, expected in enumerate(case.partitions):
                got = adapter.read_partition(i, subset).to_pandas()
                assert_same_frame(got, expected[subset], f"{case.name} partition {i} {subset}")
            whole = pandas.concat(case.partitions, ignore_index=True)
            assert_same_frame(adapter.read().to_pandas(), whole, f"{case.name} whole")
            for name in names:
                column = adapter.column(name)
                assert column.structure().shape == (len(whole),)
                values = column.read()
                assert len(values) == len(whole), name


class ContainerSuite(_Suite):
    def test_inspection_lists_top_level_keys(self, written: list[ContainerCase]) -> None:
        for case in written:
            found = inspect(case.mimetype, case.paths, case.parameters)
            assert found.structure_family == StructureFamily.container, case.name
            assert found.structure == FileContainerStructure(tuple(case.tree)), case.name

    def test_tree_matches_native(self, written: list[ContainerCase]) -> None:
        for case in written:
            self._compare(case, open_case(case), case.tree, "")

    def _compare(self, case: ContainerCase, adapter: Any, tree: dict[str, Any], at: str) -> None:
        assert adapter.keys() == list(tree), f"{case.name}:{at or '/'} keys"
        if at in case.metadata:
            assert case.metadata[at].items() <= adapter.metadata().items(), at
        for key, expected in tree.items():
            path = f"{at}/{key}".strip("/")
            child = adapter[key]
            if path in case.metadata:
                assert case.metadata[path].items() <= child.metadata().items(), path
            if isinstance(expected, dict):
                self._compare(case, child, expected, path)
            elif isinstance(expected, pandas.DataFrame):
                assert_same_frame(child.read().to_pandas(), expected, path)
            else:
                self._compare_array(case, child, expected, path)

    def _compare_array(
        self, case: ContainerCase, child: Any, expected: numpy.ndarray, path: str
    ) -> None:
        structure = child.structure()
        if path in case.dims:
            assert structure.dims == case.dims[path], path
        assert_same_array(child.read(), expected, path)
        for selection in awkward_selections(expected.shape)[:6]:
            assert_same_array(
                child.read(selection), select(expected, selection), f"{path}{selection}"
            )
        for block in every_block(structure.chunks, limit=8):
            offset = structure.block_offset(block)
            shape = structure.block_shape(block)
            region = tuple(slice(o, o + n) for o, n in zip(offset, shape, strict=True))
            assert_same_array(child.read_block(block), expected[region], f"{path}{block}")
