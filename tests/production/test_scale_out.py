"""Several `tiled serve catalog` processes on one PostgreSQL catalog act as one server."""

import numpy
import pytest

from tiled.testing.processes import serve_catalog_process

from .conftest import API_KEY, client

pytestmark = [pytest.mark.serial, pytest.mark.postgres]


def test_two_servers_share_one_postgres_catalog(postgres_uri, data_dir, pair_body):
    args = [postgres_uri, "-r", str(data_dir), "--api-key", API_KEY]
    with (
        serve_catalog_process(args) as first,
        serve_catalog_process([*args, "--workers", "2"]) as second,
        client(first.url) as one,
        client(second.url) as two,
    ):
        # Registered through one process, read through the other at once: no cache.
        assert one.post("/register/", json=pair_body).status_code == 200
        node = two.get("/metadata/pair")
        assert node.status_code == 200, node.text
        assert node.json()["data"]["attributes"]["metadata"] == {"sample": "Ni"}
        found = two.get("/search/", params={"filter[eq][condition][key]": "sample",
                                            "filter[eq][condition][value]": '"Ni"'})  # fmt: skip
        assert [item["id"] for item in found.json()["data"]] == ["pair"]
        block = two.get("/array/block/pair", params={"block": "1,0,0"},
                        headers={"Accept": "application/octet-stream"})  # fmt: skip
        assert block.status_code == 200
        expected = numpy.arange(2 * 64 * 32, dtype="int32").reshape(2, 64, 32)[1:]
        numpy.testing.assert_array_equal(numpy.frombuffer(block.content, "int32"), expected.ravel())

        # Changes go both ways, deletes too.
        patch = {"metadata": {"sample": "Cu"}, "specs": None,
             "content-type": "application/merge-patch+json"}  # fmt: skip
        assert two.patch("/metadata/pair", json=patch).status_code == 200
        assert one.get("/metadata/pair").json()["data"]["attributes"]["metadata"]["sample"] == "Cu"
        container = {"id": "c", "structure_family": "container", "metadata": {}, "specs": []}
        assert two.post("/metadata/", json=container).status_code == 200
        assert {item["id"] for item in one.get("/search/").json()["data"]} == {"pair", "c"}
        assert one.delete("/metadata/c").status_code == 200
        assert two.get("/metadata/c").status_code == 404

        # The second server's two workers report their metrics together.
        for _ in range(20):
            assert two.get("/metadata/pair").status_code == 200
        metrics = two.get("/metrics").text
        line = next(
            line for line in metrics.splitlines()
            if line.startswith("tiled_http_requests_total")
            and 'route="/api/v1/metadata/{path:path}"' in line and 'status="200"' in line
            and 'method="GET"' in line
        )  # fmt: skip
        assert float(line.rsplit(" ", 1)[1]) >= 21
