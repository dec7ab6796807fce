"""Real files, a real server over HTTP and the client registering and reading them.

``served`` is shared by a module's read-only tests (one server per module and dialect);
tests that change the catalog use ``fresh`` (a new catalog and server each).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy
import pandas
import pytest
import tifffile

from tiled.client import from_uri
from tiled.structures.array import ArrayStructure
from tiled.structures.core import StructureFamily
from tiled.structures.data_source import Asset, DataSource, Management
from tiled.structures.table import TableStructure
from tiled.testing import databases
from tiled.testing.server import run_server

API_KEY = "secret"
FRAMES = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)
BIG_ENDIAN = (numpy.arange(35).reshape(5, 7) / 3).astype(">f8")
RECORDS = numpy.array(
    [(i, i / 2, f"r{i}".encode()) for i in range(6)],
    dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S3")],
)
VOLUME = numpy.arange(6 * 10 * 12, dtype="uint16").reshape(6, 10, 12)
TABLE = pandas.DataFrame(
    {"a": numpy.arange(10), "b": numpy.linspace(0, 1, 10), "c": list("abcdefghij")}
)
H5_COUNTS = numpy.arange(200, dtype="float32").reshape(10, 20)


@dataclass
class Served:
    url: str
    data: Path
    expected: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> Any:
        return from_uri(self.url, api_key=API_KEY, **kwargs)


def asset(path: Path, parameter: str = "data_uri", num: int | None = None) -> Asset:
    return Asset(data_uri=path.as_uri(), is_directory=False, parameter=parameter, num=num)


def array_source(mimetype: str, array: numpy.ndarray, paths: list[Path], chunks=None, dims=None):
    structure = ArrayStructure.from_array(array, chunks=chunks, dims=dims)
    plural = len(paths) > 1
    return DataSource(
        management=Management.external,
        mimetype=mimetype,
        structure_family=StructureFamily.array,
        structure=structure,
        assets=[
            asset(p, "data_uris" if plural else "data_uri", i if plural else None)
            for i, p in enumerate(paths)
        ],
    )


def table_source(mimetype: str, frame: pandas.DataFrame, paths: list[Path]) -> DataSource:
    return DataSource(
        management=Management.external,
        mimetype=mimetype,
        structure_family=StructureFamily.table,
        structure=TableStructure.from_pandas(frame, npartitions=len(paths)),
        assets=[asset(p, "data_uris", i) for i, p in enumerate(paths)],
    )


def write_files(directory: Path) -> None:
    for i, frame in enumerate(FRAMES, start=1):
        tifffile.imwrite(directory / f"image{i}.tiff", frame)
    numpy.save(directory / "big_endian.npy", BIG_ENDIAN)
    numpy.save(directory / "records.npy", RECORDS)
    numpy.save(directory / "scalar.npy", numpy.array(42.5))
    tifffile.imwrite(directory / "volume.tiff", VOLUME)
    TABLE.to_csv(directory / "table.csv", index=False)
    TABLE.to_parquet(directory / "table.parquet")
    TABLE.iloc[:4].to_csv(directory / "part0.csv", index=False)
    TABLE.iloc[4:].to_csv(directory / "part1.csv", index=False)
    with h5py.File(directory / "experiment.h5", "w") as file:
        file.attrs["title"] = "experiment"
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.create_group("data").create_dataset("counts", data=H5_COUNTS, chunks=(5, 20))


def register_all(client: Any, d: Path) -> dict[str, Any]:
    """Register every kind of file the tests read; return what each should read back."""
    chunks = ((1, 1), (64,), (32,))
    client.new(
        "array",
        [
            array_source(
                "multipart/related;type=image/tiff",
                FRAMES,
                [d / "image1.tiff", d / "image2.tiff"],
                chunks,
                ("time", "x", "y"),
            )
        ],
        key="frames",
        metadata={"sample": "Ni", "temperature": 300},
        specs=["Frames"],
    )
    client.new(
        "array",
        [array_source("application/x-npy", BIG_ENDIAN, [d / "big_endian.npy"])],
        key="big_endian",
    )
    client.new(
        "array", [array_source("application/x-npy", RECORDS, [d / "records.npy"])], key="records"
    )
    client.new(
        "array",
        [array_source("application/x-npy", numpy.array(42.5), [d / "scalar.npy"])],
        key="scalar",
    )
    client.new(
        "array",
        [array_source("image/tiff", VOLUME, [d / "volume.tiff"], ((1,) * 6, (10,), (12,)))],
        key="volume",
    )
    client.new("table", [table_source("text/csv", TABLE, [d / "table.csv"])], key="csv")
    client.new(
        "table",
        [table_source("application/x-parquet", TABLE, [d / "table.parquet"])],
        key="parquet",
    )
    client.new(
        "table", [table_source("text/csv", TABLE, [d / "part0.csv", d / "part1.csv"])], key="parts"
    )
    client.new(
        "container",
        [
            DataSource(
                management=Management.external,
                mimetype="application/x-hdf5",
                structure_family=StructureFamily.container,
                structure=None,
                assets=[asset(d / "experiment.h5")],
            )
        ],
        key="h5",
    )
    many = client.create_container("many", metadata={"kind": "many"})
    for i in range(120):
        many.create_container(
            f"n{i:03d}",
            metadata={"i": i, "color": ["red", "green", "blue"][i % 3], "nested": {"n": i % 7}},
            specs=["Even"] if i % 2 == 0 else [],
        )
    return {
        "frames": FRAMES,
        "big_endian": BIG_ENDIAN,
        "records": RECORDS,
        "scalar": numpy.array(42.5),
        "volume": VOLUME,
        "csv": TABLE,
        "parquet": TABLE,
        "parts": TABLE,
        "h5/entry/data/counts": H5_COUNTS,
    }


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_catalog(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A fresh catalog for a whole module, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        from tiled.catalog.database import initialize_database

        uri = str(tmp_path_factory.mktemp("catalog") / "catalog.db")
        asyncio.run(initialize_database(uri))
        yield uri
        return
    template = request.getfixturevalue("postgres_template")
    with databases.fresh_database(template) as uri:
        yield uri


@pytest.fixture(scope="module")
def served(module_catalog: str, tmp_path_factory: pytest.TempPathFactory):
    """A server over a catalog holding one node of every kind (read-only tests)."""
    data = tmp_path_factory.mktemp("data")
    write_files(data)
    with run_server(module_catalog, readable=[data], api_key=API_KEY) as url:
        result = Served(url, data)
        with result.client() as client:
            result.expected = register_all(client, data)
        yield result


@pytest.fixture
def fresh(catalog_uri: str, tmp_path: Path):
    """A server over an empty catalog, for tests that change it; files are written."""
    data = tmp_path / "data"
    data.mkdir()
    write_files(data)
    with run_server(catalog_uri, readable=[data], api_key=API_KEY) as url:
        yield Served(url, data)


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, noting each request (method, path, query, headers) it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self.sizes: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = super().handle_request(request)
        self.sizes.append(int(response.headers.get("content-length", -1)))
        return response

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


class FlakyTransport(RecordingTransport):
    """The real transport, except that the next ``fail(n, ...)`` requests fail: by raising
    an httpx transport error or by answering a canned response."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Exception | httpx.Response] = []
        self.attempts = 0

    def fail(self, times: int, failure: type[Exception] | httpx.Response) -> None:
        self.pending = [failure] * times
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.pending:
            failure = self.pending.pop(0)
            self.requests.append(request)
            self.sizes.append(-1)
            if isinstance(failure, httpx.Response):
                return failure
            raise failure("injected failure", request=request)
        return super().handle_request(request)
