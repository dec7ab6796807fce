import numpy
import pytest
import tifffile

from tiled.testing.server import run_server

API_KEY = "secret"


@pytest.fixture
def data_dir(tmp_path):
    """A readable directory holding two int32 TIFF frames and a file outside it."""
    data = tmp_path / "data"
    data.mkdir()
    frames = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(data / f"image{i}.tiff", frame)
    (tmp_path / "outside").mkdir()
    tifffile.imwrite(tmp_path / "outside" / "secret.tiff", frames[0])
    return data


@pytest.fixture
def server(catalog_uri, data_dir):
    with run_server(catalog_uri, readable=[data_dir], api_key=API_KEY) as url:
        yield url


def tiff_pair_body(data_dir, key="pair", names=("image1.tiff", "image2.tiff")):
    """The registration body the documented example sends, for raw HTTP tests."""
    return {
        "id": key,
        "structure_family": "array",
        "metadata": {"sample": "Ni"},
        "specs": [],
        "data_sources": [
            {
                "structure_family": "array",
                "mimetype": "multipart/related;type=image/tiff",
                "structure": {
                    "data_type": {
                        "endianness": "little",
                        "kind": "i",
                        "itemsize": 4,
                        "dt_units": None,
                    },
                    "shape": [2, 64, 32],
                    "chunks": [[1, 1], [64], [32]],
                    "dims": ["time", "x", "y"],
                    "resizable": False,
                },
                "parameters": {},
                "properties": {},
                "management": "external",
                "assets": [
                    {
                        "data_uri": name if "://" in name else (data_dir / name).as_uri(),
                        "is_directory": False,
                        "parameter": "data_uri",
                        "num": i,
                    }
                    for i, name in enumerate(names, start=1)
                ],
            }
        ],
    }
