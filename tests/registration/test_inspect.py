"""inspect_planned and Inspector: nodes from headers, every failure an outcome."""

import asyncio
import json
import os
import pickle

import h5py
import numpy
import pytest
import tifffile

from tiled.adapters import registry
from tiled.registration.inspect import (
    MAX_METADATA_LIST,
    Inspector,
    container_entry,
    inspect_planned,
)
from tiled.registration.model import (
    NodeEntry,
    Planned,
    PlannedContainer,
    Skipped,
)
from tiled.registration.plan import PlanOptions, plan_directory, walk
from tiled.structures.core import StructureFamily
from tiled.testing.trees import write_every_format, write_mixed_tree


def npy(path, value=0, shape=(2, 2), dtype="f4"):
    with open(path, "wb") as file:
        numpy.save(file, numpy.full(shape, value, dtype))
    return path


def planned_in(directory, **kwargs):
    return {p.key_path[-1]: p for p in plan_directory(directory, (), PlanOptions()).entries}


@pytest.fixture(scope="module")
def every(tmp_path_factory):
    directory = tmp_path_factory.mktemp("every")
    return directory, write_every_format(directory)


def test_every_format_becomes_a_node(every):
    directory, expected = every
    for key, planned in planned_in(directory).items():
        entry = inspect_planned(planned, check_complete=True)
        assert isinstance(entry, NodeEntry), entry
        want = expected[key]
        assert entry.key_path == (key,)
        assert entry.structure_family == StructureFamily(want.family), key
        (source,) = entry.data_sources
        assert source.mimetype == want.mimetype
        assert source.management.value == "external"
        assert len(source.assets) == want.assets
        for num, (asset, state) in enumerate(zip(source.assets, planned.files, strict=True)):
            assert asset.data_uri == state.data_uri
            assert asset.parameter == planned.parameter
            assert asset.num == (num if planned.parameter == "data_uris" else None)
            assert asset.size == state.size
            assert asset.is_directory == state.is_directory
            assert entry.stats[asset.data_uri].size == state.size
            assert entry.stats[asset.data_uri].mtime_ns == state.mtime_ns
        json.dumps(source.to_json(), allow_nan=False)
        json.dumps(entry.metadata, allow_nan=False)
    sequence = inspect_planned(planned_in(directory)["scan_"])
    assert sequence.data_sources[0].structure.shape == (4, 8, 8)
    hdf5 = inspect_planned(planned_in(directory)["data"])
    assert hdf5.metadata == {"title": "every format"}
    assert hdf5.data_sources[0].structure.keys == ("entry",)


def test_containers_from_directories():
    entry = container_entry(PlannedContainer(("a", "b"), directory=os.getcwd()))
    assert entry.structure_family == StructureFamily.container
    assert (entry.metadata, entry.specs, entry.data_sources) == ({}, [], [])


def test_metadata_is_json_safe_and_without_bloat(tmp_path):
    with h5py.File(tmp_path / "odd.h5", "w") as f:
        f.attrs["nan"] = numpy.nan
        f.attrs["inf"] = -numpy.inf
        f.attrs["long"] = numpy.arange(MAX_METADATA_LIST + 1)
        f.attrs["short"] = numpy.arange(3)
    tifffile.imwrite(tmp_path / "strips.tif", numpy.zeros((400, 10), "u1"), rowsperstrip=1)
    entries = {p.key_path[-1]: inspect_planned(p) for p in planned_in(tmp_path).values()}
    assert entries["odd"].metadata == {"nan": "nan", "inf": "-inf", "short": [0, 1, 2]}
    tags = entries["strips"].metadata
    assert tags["ImageWidth"] == 10
    assert "StripOffsets" not in tags
    assert "StripByteCounts" not in tags
    json.dumps(tags, allow_nan=False)


def test_corrupt_and_truncated_files_are_skipped_with_their_name(tmp_path):
    (tmp_path / "garbage.h5").write_bytes(b"not an hdf5 file at all" * 10)
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY nonsense")
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 and then nothing")
    (tmp_path / "garbage.xlsx").write_bytes(b"PK\x03\x04 broken zip")
    tifffile.imwrite(tmp_path / "cut.tif", numpy.zeros((64, 64), "u2"))
    data = (tmp_path / "cut.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:100])
    (tmp_path / "empty.csv").write_bytes(b"")
    for key, planned in planned_in(tmp_path).items():
        result = inspect_planned(planned, check_complete=False)
        assert isinstance(result, Skipped), key
        assert result.reason == "corrupt", (key, result)
        assert str(planned.files[0].path) in result.detail
        assert result.key_path == planned.key_path


def test_incomplete_files_when_checked(tmp_path):
    npy(tmp_path / "growing.npy", shape=(100, 100))
    data = (tmp_path / "growing.npy").read_bytes()
    (tmp_path / "growing.npy").write_bytes(data[: len(data) // 2])
    (planned,) = planned_in(tmp_path).values()
    result = inspect_planned(planned, check_complete=True)
    assert result.reason == "incomplete"
    assert "growing.npy" in result.detail
    assert inspect_planned(planned).reason == "incomplete"  # just written: checked


def test_inconsistent_sequences_are_reported_naming_the_frame(tmp_path):
    npy(tmp_path / "f1.npy", shape=(3, 3))
    npy(tmp_path / "f2.npy", shape=(3, 3))
    npy(tmp_path / "f10.npy", shape=(4, 3))
    npy(tmp_path / "g1.npy", dtype="f4")
    npy(tmp_path / "g2.npy", dtype="f8")
    npy(tmp_path / "h1.npy")
    (tmp_path / "h2.npy").write_bytes(b"\x93NUMPY broken")
    results = {p.key_path[-1]: inspect_planned(p) for p in planned_in(tmp_path).values()}
    assert results["f"].reason == "inconsistent-sequence"
    assert "f10.npy" in results["f"].detail
    assert "[4, 3]" in results["f"].detail
    assert results["g"].reason == "inconsistent-sequence"
    assert "float64" in results["g"].detail
    assert results["h"].reason == "corrupt"
    assert results["h"].path.name == "h2.npy"


def test_a_file_removed_after_planning_is_unreadable(tmp_path):
    npy(tmp_path / "gone.npy")
    (planned,) = planned_in(tmp_path).values()
    os.unlink(tmp_path / "gone.npy")
    assert inspect_planned(planned).reason == "unreadable"


def test_unknown_mimetype_is_unrecognised(tmp_path):
    npy(tmp_path / "a.npy")
    (planned,) = planned_in(tmp_path).values()
    odd = Planned(planned.key_path, "application/x-nonsense", planned.files, "data_uri")
    assert inspect_planned(odd).reason == "unrecognised"


def test_results_pickle(every):
    directory, _ = every
    for planned in planned_in(directory).values():
        result = inspect_planned(planned)
        assert pickle.loads(pickle.dumps(result)) == result


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mixed")
    write_mixed_tree(directory, 120, seed=1, per_directory=30)
    (directory / "d000" / "s0" / "bad.h5").write_bytes(b"garbage")
    return [x for x in walk(directory, PlanOptions()) if isinstance(x, Planned)]


@pytest.mark.parametrize(("concurrency", "in_process"), [(1, False), (2, False), (1, True)])
def test_inspector_matches_in_process_inspection_in_order(mixed, concurrency, in_process):
    expected = [inspect_planned(p) for p in mixed]

    async def run():
        async with Inspector(concurrency, chunk_size=7, in_process=in_process) as inspector:
            return await inspector.inspect(mixed)

    assert asyncio.run(run()) == expected
    assert sum(isinstance(r, Skipped) for r in expected) == 1


def test_inspector_streams_from_an_async_source_in_order(mixed):
    async def source():
        for planned in mixed:
            await asyncio.sleep(0)
            yield planned

    async def run():
        inspector = Inspector(2, chunk_size=5)
        try:
            results = [r async for r in inspector.stream(source())]
            few = await inspector.inspect(mixed[:2])  # the pool is up: reuses it
        finally:
            await inspector.aclose()
        return results, few

    results, few = asyncio.run(run())
    assert [r.key_path for r in results] == [p.key_path for p in mixed]
    assert [r.key_path for r in few] == [p.key_path for p in mixed[:2]]


def test_inspector_handles_an_empty_source_and_a_failing_source(mixed):
    async def failing():
        yield mixed[0]
        raise RuntimeError("the walk broke")

    async def run():
        async with Inspector(2) as inspector:
            assert await inspector.inspect([]) == []
            seen = []

            async def consume():
                async for result in inspector.stream(failing()):
                    seen.append(result)

            with pytest.raises(RuntimeError, match="the walk broke"):
                await consume()
            return seen

    assert [r.key_path for r in asyncio.run(run())] == [mixed[0].key_path]


def test_a_crashing_reader_costs_only_its_own_file(tmp_path, mixed):
    mimetype = "application/x-crashing"
    registry.register_adapter_spec(f"{mimetype}=tests.registration.hooks:CrashingAdapter")
    try:
        for name in ["a.npy", "crash.npy", "b.npy"]:
            npy(tmp_path / name)
        items = [
            Planned(p.key_path, mimetype, p.files, "data_uri")
            for p in planned_in(tmp_path).values()
        ]

        good = [p for p in mixed if p.mimetype == "application/x-npy"]

        async def run():
            async with Inspector(2, chunk_size=2) as inspector:
                # Another batch shares the pool the crash breaks: it must not suffer.
                return await asyncio.gather(inspector.inspect(items), inspector.inspect(good))

        results, others = asyncio.run(run())
    finally:
        registry._registry.pop(mimetype, None)
    outcome = {r.key_path[-1]: getattr(r, "reason", "ok") for r in results}
    assert outcome == {"a": "ok", "crash": "corrupt", "b": "ok"}
    assert all(isinstance(r, NodeEntry) for r in others)
    assert len(others) == len(good)


def test_an_adapter_workers_cannot_load_does_not_stop_them(tmp_path):
    from tests.registration.hooks import Unloadable

    registry.register_adapter("application/x-unloadable", Unloadable())
    try:
        npy(tmp_path / "a.npy")
        npy(tmp_path / "b.npy")
        items = list(planned_in(tmp_path).values())

        async def run():
            async with Inspector(2) as inspector:
                return await inspector.inspect(items)

        results = asyncio.run(run())
    finally:
        registry._registry.pop("application/x-unloadable", None)
    assert all(isinstance(r, NodeEntry) for r in results)
