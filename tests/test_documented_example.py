"""The documented example, verbatim but for paths, against SQLite and PostgreSQL, over real
HTTP; the node and its data survive a server restart on the same database."""

import numpy
import tifffile

from tiled.testing.server import run_server


def write_frames(directory):
    frames = numpy.random.default_rng(7).integers(-(2**31), 2**31 - 1, (2, 512, 512), "int32")
    for i, frame in enumerate(frames, start=1):
        tifffile.imwrite(directory / f"image{i}.tiff", frame)
    return frames


def register_as_documented(client, directory):
    from tiled.structures.array import ArrayStructure, BuiltinDtype
    from tiled.structures.core import StructureFamily
    from tiled.structures.data_source import Asset, DataSource, Management

    structure = ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(numpy.dtype("int32")),
        shape=(2, 512, 512),
        chunks=((1, 1), (512,), (512,)),
        dims=("time", "x", "y"),  # optional
    )
    return client.new(
        structure_family=StructureFamily.array,
        data_sources=[
            DataSource(
                management=Management.external,
                mimetype="multipart/related;type=image/tiff",
                structure_family=StructureFamily.array,
                structure=structure,
                assets=[
                    Asset(
                        data_uri=f"file://{directory}/image1.tiff",
                        is_directory=False,
                        parameter="data_uri",
                        num=1,
                    ),
                    Asset(
                        data_uri=f"file://{directory}/image2.tiff",
                        is_directory=False,
                        parameter="data_uri",
                        num=2,
                    ),
                ],
            ),
        ],
        metadata={},
        specs=[],
    )


def test_documented_example_survives_restart(catalog_uri, tmp_path, monkeypatch):
    from tiled.client import from_uri

    frames = write_frames(tmp_path)
    with run_server(catalog_uri, readable=[tmp_path], api_key="s3cret") as url:
        client = from_uri(url, api_key="s3cret")
        register_as_documented(client, tmp_path)
        (key,) = list(client)
        assert numpy.array_equal(client[key].read(), frames)
        assert numpy.array_equal(client[key][1, 100:110, :], frames[1, 100:110, :])
        assert client[key].read().dtype == numpy.dtype("int32")
    with run_server(catalog_uri, readable=[tmp_path], api_key="s3cret", init=False) as url:
        monkeypatch.setenv("TILED_API_KEY", "s3cret")
        client = from_uri(url)
        assert list(client) == [key]
        array = client[key]
        assert array.structure().dims == ("time", "x", "y")
        assert numpy.array_equal(array.read(), frames)
        assert numpy.array_equal(array[0, :, 7], frames[0, :, 7])
