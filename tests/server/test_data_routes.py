"""The data routes over real HTTP: media types, compression, size limits, errors, and files
that break after registration."""

import io

import h5py
import httpx
import numpy
import pandas
import pytest
import tifffile
import zstandard

from tiled.testing.adapters import ArrayCase, ContainerCase, TableCase
from tiled.testing.served import API_KEY, register
from tiled.testing.server import run_server

pytestmark = pytest.mark.serial
AUTH = {"Authorization": f"Apikey {API_KEY}"}


@pytest.fixture
def data(tmp_path):
    directory = tmp_path / "data"
    directory.mkdir()
    return directory


def serve(tmp_path, **settings):
    return run_server(
        str(tmp_path / "catalog.db"), readable=[tmp_path], api_key=API_KEY, **settings
    )


def client(url):
    return httpx.Client(base_url=f"{url}/api/v1", headers=AUTH, timeout=30)


def npy_case(data, name, array):
    numpy.save(data / f"{name}.npy", array)
    return ArrayCase(name, "application/x-npy", [data / f"{name}.npy"], array)


def test_export_formats_and_refusals(tmp_path, data):
    ramp = npy_case(data, "ramp", numpy.arange(12, dtype="uint16").reshape(3, 4))
    cube = npy_case(data, "cube", numpy.zeros((2, 2, 2)))
    with serve(tmp_path) as url, client(url) as http:
        register(http, ramp)
        register(http, cube)
        as_json = http.get("/array/full/ramp", params={"format": "json"})
        assert as_json.json() == ramp.expected.tolist()
        as_csv = http.get("/array/full/ramp", params={"format": "csv", "slice": "0:2"})
        assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
        assert as_csv.text == "0,1,2,3\n4,5,6,7\n"
        png = http.get("/array/full/ramp", headers={"Accept": "image/png"})
        assert png.content.startswith(b"\x89PNG")
        tiff = http.get("/array/full/ramp", params={"format": "tiff", "filename": "r.tif"})
        assert numpy.array_equal(tifffile.imread(io.BytesIO(tiff.content)), ramp.expected)
        assert tiff.headers["content-disposition"] == 'attachment; filename="r.tif"'
        gif = http.get("/array/full/ramp", headers={"Accept": "image/gif"})
        assert gif.status_code == 406
        assert "image/gif" in gif.json()["detail"]
        three_d = http.get("/array/full/cube", params={"format": "png"})
        assert three_d.status_code == 400
        assert "2-D" in three_d.json()["detail"]


def test_slice_and_block_errors(tmp_path, data):
    ramp = npy_case(data, "ramp", numpy.arange(12).reshape(3, 4))
    with serve(tmp_path) as url, client(url) as http:
        register(http, ramp)
        assert http.get("/array/full/ramp", params={"slice": "5"}).status_code == 400
        assert http.get("/array/full/ramp", params={"slice": "a"}).status_code == 422
        mismatch = http.get("/array/full/ramp", params={"expected_shape": "4,3"})
        assert mismatch.status_code == 400
        for params in ({"block": "0"}, {"block": "1,0"}, {"block": "0,0", "slice": "9"}):
            assert http.get("/array/block/ramp", params=params).status_code == 422, params
        block = http.get("/array/block/ramp", params={"block": "0,0", "slice": "::-1,1"})
        assert numpy.frombuffer(block.content, "<i8").tolist() == [9, 5, 1]


def test_compression_only_when_asked_and_worth_it(tmp_path, data):
    smooth = npy_case(data, "smooth", numpy.repeat(numpy.arange(100, dtype="int32"), 1000))
    noise = npy_case(data, "noise", numpy.random.default_rng(0).normal(size=20_000))
    big = npy_case(data, "big", numpy.zeros((3000, 1000)))  # 24 MB: compressed as a stream
    with serve(tmp_path) as url, client(url) as http:
        for case in (smooth, noise, big):
            register(http, case)
        plain = http.get("/array/full/smooth", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        raw = httpx.get(
            f"{url}/api/v1/array/full/smooth", headers={**AUTH, "Accept-Encoding": "zstd"}
        )
        assert raw.headers["content-encoding"] == "zstd"
        assert raw.num_bytes_downloaded < smooth.expected.nbytes / 10
        decoded = numpy.frombuffer(raw.content, "<i4")
        assert numpy.array_equal(decoded, smooth.expected)  # httpx decoded zstd for us
        gz = http.get("/array/full/smooth", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert numpy.array_equal(numpy.frombuffer(gz.content, "<i4"), smooth.expected)
        random = http.get("/array/full/noise", headers={"Accept-Encoding": "gzip, zstd"})
        assert "content-encoding" not in random.headers  # does not compress: sent as is
        assert random.headers["content-length"] == str(noise.expected.nbytes)
        with http.stream("GET", "/array/full/big", headers={"Accept-Encoding": "zstd"}) as s:
            assert s.headers["content-encoding"] == "zstd"
            assert "content-length" not in s.headers  # streamed, piece by piece
            body = b"".join(s.iter_raw())
        restored = zstandard.ZstdDecompressor().decompressobj().decompress(body)
        assert restored == big.expected.tobytes()


def test_responses_over_the_limit_are_refused_with_the_limit(tmp_path, data):
    array = npy_case(data, "array", numpy.zeros((100, 100)))
    pandas.DataFrame({"x": numpy.arange(1000)}).to_csv(data / "t.csv", index=False)
    table = TableCase("table", "text/csv", [data / "t.csv"], [])
    with serve(tmp_path, max_response_bytes=4000) as url, client(url) as http:
        register(http, array)
        register(http, table)
        refused = http.get("/array/full/array")
        assert refused.status_code == 400
        assert "limit of 4,000 bytes" in refused.json()["detail"]
        assert http.get("/array/full/array", params={"slice": "0:5"}).status_code == 200
        as_json = http.get("/array/full/array", params={"slice": "0:5", "format": "json"})
        assert as_json.status_code == 400  # text is larger than the raw bytes
        refused_table = http.get("/table/partition/table", params={"partition": 0})
        assert refused_table.status_code == 400
        assert "limit of 4,000 bytes" in refused_table.json()["detail"]


def test_truncated_hdf5_and_tiff_fail_alone(tmp_path, data):
    with h5py.File(data / "scan.h5", "w") as f:
        f.create_dataset("counts", data=numpy.arange(50_000.0).reshape(500, 100), chunks=(50, 100))
    tifffile.imwrite(data / "stack.tif", numpy.ones((20, 64, 64), "uint16"))
    numpy.save(data / "fine.npy", numpy.arange(5))
    with serve(tmp_path) as url, client(url) as http:
        register(http, ContainerCase("scan", "application/x-hdf5", [data / "scan.h5"], {}))
        register(http, ArrayCase("stack", "image/tiff", [data / "stack.tif"], None))
        register(http, ArrayCase("fine", "application/x-npy", [data / "fine.npy"], None))
        for name in ("scan.h5", "stack.tif"):
            path = data / name
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
        for route in ("/metadata/scan/counts", "/array/full/stack", "/array/block/stack"):
            response = http.get(route, params={"block": "19,0,0"} if "block" in route else {})
            assert response.status_code == 410, (route, response.text)
            detail = response.json()["detail"]
            assert "scan" in detail or "stack" in detail
            assert str(tmp_path) not in detail
            assert "truncated" in detail
        assert http.get("/array/block/stack", params={"block": "0,0,0"}).status_code in (200, 410)
        assert http.get("/array/full/fine").status_code == 200
        (data / "fine.npy").unlink()
        gone = http.get("/array/full/fine")
        assert gone.status_code == 410
        assert "missing" in gone.json()["detail"]


def test_large_raw_reads_are_streamed_in_parts(tmp_path, data):
    rng = numpy.random.default_rng(5)
    noise = npy_case(data, "noise", rng.normal(size=(600, 10_000)))  # 48 MB
    zeros = npy_case(data, "zeros", numpy.zeros((5_000, 1_000)))  # 40 MB, compresses
    with serve(tmp_path) as url, client(url) as http:
        register(http, noise)
        register(http, zeros)
        with http.stream("GET", "/array/full/noise", params={"slice": "::-1"}) as response:
            assert response.headers["content-length"] == str(noise.expected.nbytes)
            body = response.read()
        assert numpy.array_equal(
            numpy.frombuffer(body, "<f8").reshape(600, 10_000), noise.expected[::-1]
        )
        sliced = http.get("/array/block/noise", params={"block": "0,0", "slice": "1::2,::-3"})
        assert numpy.array_equal(
            numpy.frombuffer(sliced.content, "<f8").reshape(-1, 3334),
            noise.expected[1::2, ::-3],
        )
        packed = http.get("/array/full/zeros", headers={"Accept-Encoding": "zstd"})
        assert packed.headers["content-encoding"] == "zstd"
        assert packed.num_bytes_downloaded < 1_000_000
        assert numpy.array_equal(numpy.frombuffer(packed.content, "<f8"), zeros.expected.ravel())


def test_a_file_failing_mid_stream_cuts_the_body_short(tmp_path, data):
    tifffile.imwrite(data / "stack.tif", numpy.ones((80, 512, 512), "uint16"))  # 40 MB
    with serve(tmp_path) as url, client(url) as http:
        register(http, ArrayCase("stack", "image/tiff", [data / "stack.tif"], None))
        path = data / "stack.tif"
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/array/full/stack")
        assert http.get("/array/full/stack", params={"slice": "0:2"}).status_code == 200
        late = http.get("/array/full/stack", params={"slice": "70:72"})
        assert late.status_code == 410


def test_streamed_parts_are_exact_and_a_client_leaving_early_is_harmless(tmp_path, data, caplog):
    """A stack streamed in parts (the next read while the current one is sent, the last
    part partial) arrives exactly; a client that stops reading half way leaves no read
    behind that fails unseen, and the next full read is exact again."""
    stack = numpy.random.default_rng(8).integers(0, 60000, (100, 512, 512), dtype="uint16")
    tifffile.imwrite(data / "stack.tif", stack)  # 50 MiB: 6 parts of 16 pages, then 4
    with serve(tmp_path) as url, client(url) as http:
        register(http, ArrayCase("stack", "image/tiff", [data / "stack.tif"], None))
        with caplog.at_level("ERROR", logger="asyncio"):
            for _ in range(3):
                with http.stream("GET", "/array/full/stack") as response:
                    next(response.iter_raw(1024**2))
            full = http.get("/array/full/stack")
            assert full.headers["content-length"] == str(stack.nbytes)
            assert full.content == stack.tobytes()
        assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_a_sequence_checks_the_frames_a_request_reads(tmp_path, data):
    """Frames are checked as they are read: a frame later swapped for a link out of the
    readable directories is refused (403) and a deleted one is gone (410), naming the
    node only, while the other frames' blocks still read."""
    frames = data / "seq"
    frames.mkdir()
    for i in range(4):
        tifffile.imwrite(frames / f"f{i}.tif", numpy.full((8, 8), i, "uint16"))
    secret = tmp_path.parent / f"{tmp_path.name}-outside.tif"
    tifffile.imwrite(secret, numpy.full((8, 8), 99, "uint16"))
    case = ArrayCase(
        "seq",
        "multipart/related;type=image/tiff",
        [frames / f"f{i}.tif" for i in range(4)],
        None,
    )
    try:
        with serve(tmp_path) as url, client(url) as http:
            register(http, case)
            (frames / "f1.tif").unlink()
            (frames / "f1.tif").symlink_to(secret)
            (frames / "f2.tif").unlink()
            answers = {
                i: http.get(
                    "/array/block/seq",
                    params={"block": f"{i},0,0"},
                    headers={"Accept": "application/octet-stream"},
                )
                for i in range(4)
            }
            assert answers[0].status_code == 200
            assert answers[3].status_code == 200
            assert numpy.frombuffer(answers[3].content, "uint16").tolist() == [3] * 64
            assert answers[1].status_code == 403, answers[1].text
            assert answers[2].status_code == 410, answers[2].text
            for answer in (answers[1], answers[2]):
                assert "seq" in answer.json()["detail"]
                assert str(tmp_path) not in answer.json()["detail"]
            assert http.get("/array/full/seq").status_code == 403
    finally:
        secret.unlink()
