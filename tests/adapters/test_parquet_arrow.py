import numpy
import pandas
import pyarrow
import pyarrow.ipc
import pyarrow.parquet
import pytest

from tiled.adapters.registry import inspect, open_adapter
from tiled.testing.adapters import TableCase, TableSuite
from tiled.testing.served import ServedSuite

PARQUET = "application/x-parquet"
ARROW = "application/vnd.apache.arrow.file"


def frame(seed, rows=6):
    rng = numpy.random.default_rng(seed)
    return pandas.DataFrame(
        {
            "x": numpy.arange(rows, dtype="int64") + 100 * seed,
            "y": rng.normal(size=rows),
            "flag": rng.integers(0, 2, rows).astype(bool),
            "when": pandas.date_range("2024-01-01", periods=rows, freq="h"),
            "name": [f"n{seed}-{i}" for i in range(rows)],
        }
    )


class TestParquet(TableSuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        frame(1).to_parquet(directory / "single.parquet")
        files = [directory / f"part{i}.parquet" for i in range(3)]
        for i, path in enumerate(files):
            frame(2 + i, rows=4 + i).to_parquet(path)
        plain = directory / "plain.parquet"
        plain.mkdir()
        for i in range(2):
            frame(7 + i).to_parquet(plain / f"part-{i}.parquet")
        hive = directory / "hive.parquet"
        by_day = frame(9).assign(day=["mon", "mon", "tue", "tue", "wed", "wed"])
        by_day.to_parquet(hive, partition_cols=["day"])
        hive_parts = [
            by_day[by_day.day == day].drop(columns="day").reset_index(drop=True).assign(day=day)
            for day in ("mon", "tue", "wed")
        ]
        return [
            TableCase(
                "single",
                PARQUET,
                [directory / "single.parquet"],
                [pandas.read_parquet(directory / "single.parquet")],
            ),
            TableCase("files", PARQUET, files, [pandas.read_parquet(p) for p in files]),
            TableCase(
                "plain",
                PARQUET,
                [plain],
                [pandas.read_parquet(plain / f"part-{i}.parquet") for i in range(2)],
            ),
            TableCase("hive", PARQUET, [hive], hive_parts),
        ]

    def test_schema_comes_from_the_footer(self, written):
        structure = inspect(PARQUET, written[0].paths).structure
        schema = structure.arrow_schema_decoded
        assert pyarrow.types.is_timestamp(schema.field("when").type)
        assert b"pandas" in schema.metadata

    def test_sizes_come_from_the_footer(self, written):
        adapter = open_adapter(PARQUET, written[1].paths)
        assert adapter.estimated_nbytes(0) > 0
        assert adapter.estimated_nbytes(None) > adapter.estimated_nbytes(0)


def write_arrow(path, tables):
    with pyarrow.ipc.new_file(path, tables[0].schema) as writer:
        for table in tables:
            writer.write_table(table)


class TestArrow(TableSuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        batches = [pyarrow.Table.from_pandas(frame(i), preserve_index=False) for i in range(3)]
        write_arrow(directory / "batches.arrow", batches)
        write_arrow(directory / "second.arrow", batches[:1])
        stream = directory / "stream.arrow"
        with pyarrow.ipc.new_stream(stream, batches[0].schema) as writer:
            writer.write_table(batches[0])

        def native(path):
            with pyarrow.memory_map(str(path)) as source:
                return pyarrow.ipc.open_file(source).read_all().to_pandas()

        with pyarrow.memory_map(str(stream)) as source:
            streamed = pyarrow.ipc.open_stream(source).read_all().to_pandas()
        files = [directory / "batches.arrow", directory / "second.arrow"]
        return [
            TableCase("files", ARROW, files, [native(p) for p in files]),
            TableCase("stream", ARROW, [stream], [streamed]),
        ]


def test_partitions_may_not_point_outside_the_readable_directories(tmp_path):
    from tiled.errors import AccessDeniedError

    data, outside = tmp_path / "data" / "t.parquet", tmp_path / "outside"
    data.mkdir(parents=True)
    outside.mkdir()
    frame(1).to_parquet(data / "part-0.parquet")
    frame(2).to_parquet(outside / "secret.parquet")
    (data / "part-1.parquet").symlink_to(outside / "secret.parquet")
    with pytest.raises(AccessDeniedError, match="part-1"):
        open_adapter(PARQUET, [data], readable=[tmp_path / "data"])
