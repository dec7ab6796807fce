"""``/container/full`` over real HTTP: catalog containers and containers inside files
exported as HDF5 and as Tiled's JSON tree, child selection, and the limits."""

import io

import h5py
import httpx
import numpy
import pandas
import pytest

from tiled.testing.served import API_KEY, registration_body
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial
AUTH = {"Authorization": f"Apikey {API_KEY}"}


@pytest.fixture
def files(tmp_path):
    """An HDF5 file with nested groups, an NPY array and an Excel workbook."""
    data = tmp_path / "data"
    data.mkdir()
    with h5py.File(data / "scan.h5", "w") as f:
        f.attrs["title"] = "scan 1"
        f.create_dataset("counts", data=numpy.arange(40_000.0).reshape(200, 200), chunks=(20, 200))
        group = f.create_group("detector")
        group.attrs["gain"] = 2.5
        group.create_dataset("frames", data=numpy.arange(24, dtype=">i4").reshape(2, 3, 4))
        group.create_dataset("label", data="Cu K-edge")
    numpy.save(data / "ramp.npy", numpy.arange(6, dtype="uint8").reshape(2, 3))
    with pandas.ExcelWriter(data / "book.xlsx") as writer:
        pandas.DataFrame({"x": [1, 2, 3], "name": ["a", "b", "c"]}).to_excel(
            writer, sheet_name="first", index=False
        )
    return data


def serve(tmp_path, **settings):
    return run_server(
        str(tmp_path / "catalog.db"), readable=[tmp_path], api_key=API_KEY, **settings
    )


def client(url):
    return httpx.Client(base_url=f"{url}/api/v1", headers=AUTH, timeout=60)


def populate(http, files):
    """``run`` (a catalog container with metadata) holding the HDF5 file, the NPY array
    and the workbook."""
    created = http.post(
        "/metadata/",
        json={
            "id": "run",
            "structure_family": "container",
            "metadata": {"sample": {"name": "Cu", "temperature": 300}, "tags": ["a", "b"]},
            "specs": [],
            "data_sources": [],
        },
    )
    assert created.status_code == 200, created.text
    for key, mimetype, name in (
        ("scan", "application/x-hdf5", "scan.h5"),
        ("ramp", "application/x-npy", "ramp.npy"),
        ("book", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "book.xlsx"),
    ):
        body = registration_body(key, mimetype, [files / name])
        response = http.post("/register/run", json=body)
        assert response.status_code == 200, response.text


def test_hdf5_export_of_a_catalog_container_holds_the_files_data(tmp_path, files):
    with serve(tmp_path) as url, client(url) as http:
        populate(http, files)
        links = http.get("/metadata/run").json()["data"]["links"]
        response = http.get(links["full"].removeprefix(f"{url}/api/v1"))  # HDF5 by default
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/x-hdf5"
        with h5py.File(io.BytesIO(response.content), "r") as f:
            assert f.attrs["tags"].tolist() == ["a", "b"]
            assert '"temperature": 300' in f.attrs["sample"]  # a mapping, as JSON text
            assert numpy.array_equal(f["scan/counts"][()], numpy.arange(40_000.0).reshape(200, 200))
            frames = f["scan/detector/frames"]
            assert frames.dtype == numpy.dtype(">i4")
            assert numpy.array_equal(frames[()], numpy.arange(24).reshape(2, 3, 4))
            assert f["scan/detector"].attrs["gain"] == 2.5
            assert f["scan/detector/label"][()] == b"Cu K-edge"
            assert numpy.array_equal(f["ramp"][()], numpy.arange(6).reshape(2, 3))
            assert f["book/first/x"][()].tolist() == [1, 2, 3]
            assert [v.decode() for v in f["book/first/name"][()]] == ["a", "b", "c"]


def test_json_export_is_tiled_tree_of_metadata(tmp_path, files):
    with serve(tmp_path) as url, client(url) as http:
        populate(http, files)
        tree = http.get("/container/full/run", params={"format": "json"}).json()
        assert tree["metadata"] == {
            "sample": {"name": "Cu", "temperature": 300},
            "tags": ["a", "b"],
        }
        scan = tree["contents"]["scan"]
        assert scan["metadata"]["title"] == "scan 1"
        assert scan["contents"]["counts"] == {"contents": {}, "metadata": {}}
        assert scan["contents"]["detector"]["metadata"] == {"gain": 2.5}
        assert set(scan["contents"]["detector"]["contents"]) == {"frames", "label"}
        assert tree["contents"]["ramp"]["contents"] == {}
        assert set(tree["contents"]["book"]["contents"]["first"]["contents"]) == {"x", "name"}
        accept = http.get("/container/full/run/scan", headers={"Accept": "application/json"})
        assert accept.json() == scan


def test_export_inside_a_file_with_selected_children(tmp_path, files):
    with serve(tmp_path) as url, client(url) as http:
        populate(http, files)
        inner = http.get("/container/full/run/scan/detector", params={"format": "h5"})
        assert inner.status_code == 200, inner.text
        with h5py.File(io.BytesIO(inner.content), "r") as f:
            assert set(f) == {"frames", "label"}
            assert f.attrs["gain"] == 2.5
        some = http.get("/container/full/run", params={"field": ["ramp"], "format": "json"})
        assert set(some.json()["contents"]) == {"ramp"}
        posted = http.post("/container/full/run/scan", params={"format": "json"}, json=["counts"])
        assert set(posted.json()["contents"]) == {"counts"}
        unknown = http.get("/container/full/run", params={"field": "nope"})
        assert unknown.status_code == 400
        assert "nope" in unknown.json()["detail"]
        named = http.get("/container/full/run", params={"filename": "run.h5"})
        assert named.headers["content-disposition"] == 'attachment; filename="run.h5"'


def test_export_errors(tmp_path, files):
    with serve(tmp_path) as url, client(url) as http:
        populate(http, files)
        not_container = http.get("/container/full/run/ramp")
        assert not_container.status_code == 404
        assert "'array'" in not_container.json()["detail"]
        assert http.get("/container/full/run/missing").status_code == 404
        gif = http.get("/container/full/run", params={"format": "image/gif"})
        assert gif.status_code == 406
        anonymous = httpx.get(f"{url}/api/v1/container/full/run")
        assert anonymous.status_code == 401


def test_exports_over_the_limits_are_refused_before_reading(tmp_path, files):
    with serve(tmp_path, max_response_bytes=100_000, max_export_nodes=8) as url, client(url) as h:
        populate(h, files)
        too_big = h.get("/container/full/run/scan")  # counts alone is 320,000 bytes
        assert too_big.status_code == 400
        assert "limit of 100,000 bytes" in too_big.json()["detail"]
        small = h.get("/container/full/run/scan/detector")
        assert small.status_code == 200
        as_json = h.get("/container/full/run/scan", params={"format": "json"})
        assert as_json.status_code == 200  # JSON carries no data: only the node limit applies
        too_many = h.get("/container/full/run", params={"format": "json"})
        assert too_many.status_code == 400
        assert "limit of 8 nodes" in too_many.json()["detail"]


def test_a_corrupt_file_fails_the_export_naming_the_node(tmp_path, files):
    with serve(tmp_path) as url, client(url) as http:
        populate(http, files)
        path = files / "scan.h5"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        broken = http.get("/container/full/run")
        assert broken.status_code == 410, broken.text
        detail = broken.json()["detail"]
        assert "run/scan" in detail
        assert str(tmp_path) not in detail
        assert http.get("/container/full/run", params={"field": "ramp"}).status_code == 200
