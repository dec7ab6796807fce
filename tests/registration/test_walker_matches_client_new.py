"""A directory of every format, registered file by file through the Python client's
``new`` (as the documented example does) and walked by ``tiled register``, gives the same
nodes: same keys, families, structures, mimetypes, assets, metadata and specs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiled.adapters.registry import inspect
from tiled.client import from_uri
from tiled.registration.plan import PlanOptions, plan_directory
from tiled.structures.data_source import Asset, DataSource, Management
from tiled.testing.server import run_server
from tiled.testing.trees import write_every_format

pytestmark = pytest.mark.serial

KEY = "secret"
WORKTREE = str(Path(__file__).resolve().parents[2])


def register_with_client_new(container, data: Path) -> None:
    """What a user scripts by hand: decide each file's key and mimetype, read its headers,
    and call ``new`` with an external data source."""
    plan = plan_directory(data, (), PlanOptions(roots=(data,)))
    assert plan.entries, "the tree gave nothing to register"
    for planned in plan.entries:
        paths = [f.path for f in planned.files]
        inspection = inspect(planned.mimetype, paths, planned.parameters)
        plural = planned.parameter == "data_uris"
        assets = [
            Asset(
                data_uri=f.data_uri,
                is_directory=f.is_directory,
                parameter=planned.parameter,
                num=i if plural else None,
            )
            for i, f in enumerate(planned.files)
        ]
        container.new(
            structure_family=inspection.structure_family,
            data_sources=[
                DataSource(
                    management=Management.external,
                    mimetype=planned.mimetype,
                    structure_family=inspection.structure_family,
                    structure=inspection.structure,
                    parameters=dict(planned.parameters),
                    assets=assets,
                )
            ],
            metadata=inspection.metadata,
            specs=inspection.specs,
            key=planned.key_path[-1],
        )


def register_with_walker(url: str, data: Path, prefix: str) -> None:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (WORKTREE, environment.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-m", "tiled.cli.main", "register", url, "--api-key", KEY,
         str(data), "--prefix", prefix],
        capture_output=True, text=True, timeout=300, env=environment, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def described(node) -> dict:
    sources = node.data_sources()
    return {
        "family": node.structure_family.value,
        "metadata": dict(node.metadata),
        "specs": [spec.name for spec in node.specs],
        "sources": [
            {
                "mimetype": source.mimetype,
                "parameters": source.parameters,
                "structure": source.structure.to_json() if source.structure else None,
                "assets": [(a.data_uri, a.is_directory, a.parameter, a.num) for a in source.assets],
            }
            for source in sources
        ],
    }


def test_walker_and_client_new_register_the_same_nodes(tmp_path, catalog_uri):
    data = (tmp_path / "data").resolve()
    expected = write_every_format(data)
    with run_server(catalog_uri, readable=[data], api_key=KEY) as url:
        client = from_uri(url, api_key=KEY)
        by_hand = client.create_container("by_hand")
        register_with_client_new(by_hand, data)
        client.create_container("walked")
        register_with_walker(url, data, "/walked")
        walked = client["walked"]
        assert sorted(walked) == sorted(by_hand) == sorted(e.key for e in expected.values())
        for key in by_hand:
            assert described(walked[key]) == described(by_hand[key]), key
