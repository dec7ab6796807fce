"""The conformance suite through a real server: register each case with
``POST /api/v1/register`` (the body the official client sends, ``structures.md`` §4.3),
then read it back over HTTP (full, slices, every block; partitions, columns, the whole
table; trees key by key) and compare with the native library's reads.

Mix :class:`ServedSuite` into a format's test class next to an adapter suite.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy
import pandas
import pyarrow
import pytest

from ..adapters.registry import inspect, normalise_mimetype
from ..structures.array import data_type_from_json
from .adapters import ArrayCase, ContainerCase, TableCase, copy_case, damage
from .comparison import assert_same_array, assert_same_frame, select
from .selections import awkward_selections, every_block, slice_param
from .server import run_server
from .through_client import check_with_client, register_with_client

API_KEY = "secret"
_PLURAL = {"text/csv", "application/x-parquet", "application/vnd.apache.arrow.file"}


def file_uri(path: Path) -> str:
    """``file://localhost/...`` as the official client writes asset URIs."""
    return "file://localhost" + quote(str(path))


def registration_body(
    key: str, mimetype: str, paths: list[Path], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a client posts to register ``paths``: structure and metadata from inspection."""
    parameters = dict(parameters or {})
    found = inspect(mimetype, paths, parameters)
    base = normalise_mimetype(mimetype).split(";")[0]
    plural = base == "multipart/related" or base in _PLURAL
    assets = [
        {
            "data_uri": file_uri(path),
            "is_directory": path.is_dir(),
            "parameter": "data_uris" if plural else "data_uri",
            "num": i if plural else None,
        }
        for i, path in enumerate(paths)
    ]
    family = found.structure_family.value
    return {
        "id": key,
        "structure_family": family,
        "metadata": found.metadata,
        "specs": [s.to_json() for s in found.specs],
        "data_sources": [
            {
                "structure_family": family,
                "structure": found.structure.to_json(),
                "mimetype": mimetype,
                "parameters": parameters,
                "properties": {},
                "management": "external",
                "assets": assets,
            }
        ],
    }


def register(http: httpx.Client, case: Any, key: str | None = None) -> None:
    body = registration_body(key or case.name, case.mimetype, case.paths, case.parameters)
    response = http.post("/register/", json=body)
    assert response.status_code == 200, response.text


def read_array(http: httpx.Client, path: str, structure: dict[str, Any], **params: str) -> Any:
    route = "block" if "block" in params else "full"
    response = http.get(f"/array/{route}/{path}", params=params)
    assert response.status_code == 200, f"{path} {params}: {response.text}"
    dtype = data_type_from_json(structure["data_type"]).to_numpy_dtype()
    return numpy.frombuffer(response.content, dtype=dtype)


def read_partition(http: httpx.Client, path: str, partition: int, columns: Any = None) -> Any:
    params: dict[str, Any] = {"partition": partition}
    if columns:
        params["column"] = columns
    response = http.get(f"/table/partition/{path}", params=params)
    assert response.status_code == 200, f"{path} {params}: {response.text}"
    assert response.content[:6] == b"ARROW1"
    return pyarrow.ipc.open_file(pyarrow.py_buffer(response.content)).read_all().to_pandas()


@contextmanager
def serving(directory: Path) -> Iterator[httpx.Client]:
    """A real server over a fresh SQLite catalog that may read ``directory``, and an
    authenticated client of its ``/api/v1``."""
    with (
        run_server(str(directory / "catalog.db"), readable=[directory], api_key=API_KEY) as url,
        httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Apikey {API_KEY}"}, timeout=30
        ) as http,
    ):
        yield http


@pytest.fixture
def served_http(tmp_path: Path) -> Iterator[httpx.Client]:
    """:func:`serving` ``tmp_path`` for one test."""
    with serving(tmp_path) as http:
        yield http


class ServedSuite:
    """Register every case through the server and read it all back over HTTP."""

    @pytest.fixture
    def served_http(self, tmp_path: Path) -> Iterator[httpx.Client]:
        with serving(tmp_path) as http:
            yield http

    @pytest.mark.serial
    def test_served_reads_match_native(self, written: list[Any], served_http: httpx.Client) -> None:
        for case in written:
            register(served_http, case)
            check_served(served_http, case.name, case)

    @pytest.mark.serial
    def test_client_reads_match_native(self, written: list[Any], tmp_path: Path) -> None:
        from ..client import from_uri

        with run_server(str(tmp_path / "client.db"), readable=[tmp_path], api_key=API_KEY) as url:
            client = from_uri(url, api_key=API_KEY)
            try:
                for case in written:
                    body = registration_body(case.name, case.mimetype, case.paths, case.parameters)
                    node = register_with_client(client, case, body)
                    check_with_client(node, case)
                    check_with_client(client[case.name], case)  # found again by path
            finally:
                client.context.close()

    @pytest.mark.serial
    def test_broken_file_fails_one_request_only(
        self, written: list[Any], served_http: httpx.Client, tmp_path: Path
    ) -> None:
        case = written[0]
        register(served_http, case, "intact")
        copy = copy_case(case, tmp_path / "data" / "copy")
        register(served_http, copy, "broken")
        damage(copy, "overwrite")
        status, detail = _first_failure(served_http, "broken")
        assert 400 <= status < 600, (status, detail)
        assert status != 500, detail  # deterministic failures are not "internal" (retried)
        assert "broken" in detail, detail
        assert str(tmp_path) not in detail, detail
        check_served(served_http, "intact", case)  # everything else is still served
        assert served_http.get("/").status_code == 200


def _first_failure(http: httpx.Client, path: str) -> tuple[int, str]:
    """Read every array and table under ``path``; (status, detail) of the first failure."""
    response = http.get(f"/metadata/{path}")
    if response.status_code != 200:
        return response.status_code, response.json()["detail"]
    family = response.json()["data"]["attributes"]["structure_family"]
    if family == "container":
        listing = http.get(f"/search/{path}", params={"fields": "", "page[limit]": 300})
        if listing.status_code != 200:
            return listing.status_code, listing.json()["detail"]
        for item in listing.json()["data"]:
            status, detail = _first_failure(http, f"{path}/{item['id']}")
            if status != 200:
                return status, detail
        return 200, ""
    read = http.get(("/array/full/" if family == "array" else "/table/full/") + path)
    return read.status_code, read.json()["detail"] if read.status_code != 200 else ""


def check_served(http: httpx.Client, path: str, case: Any) -> None:
    if isinstance(case, ArrayCase):
        _check_array(http, path, case.expected)
    elif isinstance(case, TableCase):
        _check_table(http, path, case.partitions)
    elif isinstance(case, ContainerCase):
        _check_tree(http, path, case.tree)


def _structure(http: httpx.Client, path: str) -> dict[str, Any]:
    response = http.get(f"/metadata/{path}")
    assert response.status_code == 200, response.text
    return response.json()["data"]["attributes"]["structure"]  # type: ignore[no-any-return]


def _check_array(http: httpx.Client, path: str, expected: numpy.ndarray) -> None:
    structure = _structure(http, path)
    assert structure["shape"] == list(expected.shape), path
    shape = ",".join(map(str, expected.shape))
    full = read_array(http, path, structure, expected_shape=shape or "scalar")
    assert_same_array(full.reshape(expected.shape), expected, path)
    for selection in awkward_selections(expected.shape):
        want = select(expected, selection)
        got = read_array(http, path, structure, slice=slice_param(selection))
        assert_same_array(got.reshape(want.shape), want, f"{path}[{slice_param(selection)}]")
    chunks = structure["chunks"]
    for block in every_block(chunks, limit=16):
        region = tuple(
            slice(sum(dim[:i]), sum(dim[: i + 1])) for i, dim in zip(block, chunks, strict=True)
        )
        want = expected[region]
        got = read_array(http, path, structure, block=",".join(map(str, block)))
        assert_same_array(got.reshape(want.shape), want, f"{path} block {block}")


def _check_table(http: httpx.Client, path: str, partitions: list[pandas.DataFrame]) -> None:
    structure = _structure(http, path)
    assert structure["npartitions"] == len(partitions), path
    names = [str(c) for c in partitions[0].columns]
    assert structure["columns"] == names, path
    for i, expected in enumerate(partitions):
        assert_same_frame(read_partition(http, path, i), expected, f"{path} partition {i}")
        subset = names[::-1][: max(1, len(names) - 1)]
        got = read_partition(http, path, i, subset)
        assert_same_frame(got, expected[subset], f"{path} partition {i} {subset}")
    whole = http.get(f"/table/full/{path}", params={"format": "parquet"})
    assert whole.status_code == 200, whole.text
    expected_whole = pandas.concat(partitions, ignore_index=True)
    assert_same_frame(pandas.read_parquet(io.BytesIO(whole.content)), expected_whole, path)


def _check_tree(http: httpx.Client, path: str, tree: dict[str, Any]) -> None:
    listing = http.get(f"/search/{path}", params={"fields": "", "page[limit]": 300})
    assert listing.status_code == 200, listing.text
    assert [item["id"] for item in listing.json()["data"]] == list(tree), path
    for key, expected in tree.items():
        child = f"{path}/{key}"
        if isinstance(expected, dict):
            _check_tree(http, child, expected)
        elif isinstance(expected, pandas.DataFrame):
            _check_table(http, child, [expected])
        else:
            _check_array(http, child, expected)
