"""docs/client.md runs as written against the demo tree, and what its comments say a
``print`` shows is what it shows."""

import asyncio
import re
from pathlib import Path

import pytest

from tiled.demo import register_example_tree
from tiled.testing.server import run_server

DOC = Path(__file__).parent.parent / "docs" / "client.md"
pytestmark = pytest.mark.serial

_CHECKED_PRINT = re.compile(r"^print\((?P<args>.*)\)\s+# (?P<expected>.*)$", flags=re.M)


def checked(code):
    """Turn ``print(x)  # shown`` into a check that ``x`` prints as ``shown``."""
    return _CHECKED_PRINT.sub(lambda m: f"_expect({m['expected']!r}, {m['args']})", code)


def _expect(expected, *values):
    shown = " ".join(map(str, values))
    assert shown == expected, f"docs/client.md says {expected!r}, the code prints {shown!r}"


def test_client_guide_runs_as_written(tmp_path, monkeypatch):
    catalog = str(tmp_path / "catalog.db")
    data = tmp_path / "example-data"
    asyncio.run(register_example_tree(catalog, data))
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6
    with run_server(catalog, readable=[data], api_key="SECRET") as url:
        namespace = {"_expect": _expect}
        for block in blocks:
            code = checked(block).replace("http://localhost:8000", url)
            exec(compile(code, str(DOC), "exec"), namespace)
        namespace["client"].close()
    assert (tmp_path / "frame.csv").exists()
    assert (tmp_path / "table.parquet").exists()
    assert (tmp_path / "experiment.h5").exists()
    assert (tmp_path / "catalog.json").exists()
