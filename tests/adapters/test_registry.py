"""The registry: mimetypes, plug-ins (entry points and ``package.module:Class``), the
header-only ``inspect`` entry point, completeness checks and natural ordering."""

import sys
import textwrap
import uuid
from pathlib import Path

import numpy
import pytest
from typer.testing import CliRunner

from tiled.adapters import registry
from tiled.adapters.registry import (
    AdapterPluginWarning,
    inspect,
    load_entry_points,
    natural_sorted,
    open_adapter,
    register_adapter,
    register_adapter_spec,
)
from tiled.errors import BadRequestError, UnsupportedMimetypeError
from tiled.structures.container import FileContainerStructure
from tiled.structures.core import StructureFamily

PLUGIN = '''
import numpy
from tiled.adapters.array_base import ArrayAdapterBase
from tiled.adapters.selection import as_slices
from tiled.structures.array import ArrayStructure

class LinesAdapter(ArrayAdapterBase):
    """One number per line."""

    mimetypes = ("text/x-lines-{tag}",)
    extensions = (".lines{tag}",)

    def __init__(self, path, structure=None):
        super().__init__(structure)
        self._path = path

    @classmethod
    def from_source(cls, source):
        return cls(source.one_path(), source.structure)

    def _inspect(self):
        return ArrayStructure.from_array(self._values())

    def _values(self):
        return numpy.loadtxt(self._path, ndmin=1)

    def _read(self, selection):
        return self._values()[as_slices(selection)]
'''


@pytest.fixture
def plugin_package(tmp_path):
    """A real, importable plug-in package with an installed distribution's metadata."""
    tag = uuid.uuid4().hex[:8]
    module = f"lines_plugin_{tag}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(PLUGIN.replace("{tag}", tag)))
    info = tmp_path / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[tiled.adapters]\n"
        f"text/x-lines-{tag} = {module}:LinesAdapter\n"
        f"text/x-broken-{tag} = {module}_missing:Nope\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield tag, module
    finally:
        sys.path.remove(str(tmp_path))


def test_entry_point_plugins_load_and_broken_ones_warn(plugin_package, tmp_path):
    tag, _ = plugin_package
    with pytest.warns(AdapterPluginWarning, match=f"text/x-broken-{tag}"):
        loaded = load_entry_points()
    assert f"text/x-lines-{tag}" in loaded
    assert f"text/x-broken-{tag}" not in registry.known_mimetypes()
    data = tmp_path / "values.lines"
    data.write_text("1.5\n2.5\n-3\n")
    found = inspect(f"text/x-lines-{tag}", [data])
    assert found.structure.shape == (3,)
    adapter = open_adapter(f"text/x-lines-{tag}", [data], structure=found.structure)
    assert adapter.read((slice(None, None, -1),)).tolist() == [-3.0, 2.5, 1.5]
    assert registry.extension_mimetypes()[f".lines{tag}"] == f"text/x-lines-{tag}"


def test_spec_string_plugins(plugin_package):
    tag, module = plugin_package
    assert register_adapter_spec(f"{module}:LinesAdapter") == [f"text/x-lines-{tag}"]
    assert register_adapter_spec(f"text/x-other-{tag} = {module}:LinesAdapter") == [
        f"text/x-other-{tag}"
    ]
    with pytest.raises(BadRequestError, match=r"package\.module:Class"):
        register_adapter_spec("not-a-spec")
    with pytest.raises(BadRequestError, match="Cannot load"):
        register_adapter_spec(f"text/x-y={module}:Missing")
    with pytest.raises(BadRequestError, match="Say which mimetype"):
        register_adapter_spec("tiled.adapters.array_base:ArrayAdapterBase")


def test_serve_catalog_refuses_a_bad_adapter_option(tmp_path):
    from tiled.cli.main import app

    result = CliRunner().invoke(
        app, ["serve", "catalog", str(tmp_path / "c.db"), "--init", "--adapter", "x/y=nope:Nope"]
    )
    assert result.exit_code == 1
    assert "Cannot load the adapter 'nope:Nope'" in result.output


def test_a_callable_opener_is_enough(tmp_path):
    mimetype = f"application/x-test-{uuid.uuid4().hex[:8]}"
    register_adapter(mimetype, lambda source: ("opened", source.paths, source.parameters))
    assert open_adapter(mimetype, [tmp_path], parameters={"a": 1}) == (
        "opened",
        (tmp_path,),
        {"a": 1},
    )
    with pytest.raises(BadRequestError):
        register_adapter(mimetype, 42)


def test_the_earlier_five_argument_factory_still_works(tmp_path):
    mimetype = f"application/x-test-{uuid.uuid4().hex[:8]}"

    def factory(paths, structure, parameters, metadata, specs):
        return (paths, structure, parameters, metadata, specs)

    register_adapter(mimetype, factory)
    opened = open_adapter(mimetype, [tmp_path], parameters={"a": 1}, metadata={"m": 2})
    assert opened == ([tmp_path], None, {"a": 1}, {"m": 2}, None)


def test_unknown_mimetype_lists_the_known_ones(tmp_path):
    with pytest.raises(UnsupportedMimetypeError, match="application/x-hdf5"):
        open_adapter("application/x-bogus", [tmp_path])


def test_mimetypes_are_normalised(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    found = inspect("Text/CSV; header=present", [path])
    assert found.structure_family == StructureFamily.table
    assert found.structure.columns == ("a", "b")


def test_inspection_of_file_containers_lists_keys(tmp_path):
    import h5py

    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["b"] = numpy.arange(3)
        f.create_group("a")
    found = inspect("application/x-hdf5", [tmp_path / "f.h5"])
    assert found.structure == FileContainerStructure(("a", "b"))


def test_inspect_runs_in_a_fresh_worker_process(tmp_path):
    """What the indexing pipeline does: inspect in a process pool."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    numpy.save(tmp_path / "a.npy", numpy.zeros((4, 5), ">f4"))
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        found = pool.submit(inspect, "application/x-npy", [tmp_path / "a.npy"]).result(60)
    assert found.structure.shape == (4, 5)
    assert found.structure.data_type.to_json()["endianness"] == "big"


def test_natural_order():
    names = ["frame_10.tif", "frame_2.tif", "Frame_1.tif", "frame_1.tif", "frame_002.tif"]
    assert natural_sorted(names) == [
        "Frame_1.tif",
        "frame_1.tif",
        "frame_002.tif",
        "frame_2.tif",
        "frame_10.tif",
    ]
    assert natural_sorted([Path("b/x10"), Path("a/x9")]) == [Path("a/x9"), Path("b/x10")]


def test_sequence_mimetype():
    assert registry.sequence_mimetype("image/TIFF") == "multipart/related;type=image/tiff"
    assert registry.sequence_mimetype("image/tiff") in registry.known_mimetypes()


def test_check_complete_without_a_check_says_nothing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    assert registry.check_complete("text/csv", [path]) is None


def test_a_subclass_that_only_overrides_read_still_reads_blocks():
    from tiled.adapters.array_base import ArrayAdapterBase
    from tiled.structures.array import ArrayStructure

    class Whole(ArrayAdapterBase):
        def __init__(self):
            data = numpy.arange(10)
            super().__init__(ArrayStructure.from_array(data, chunks=((4, 4, 2),)))
            self._data = data

        def read(self, selection=()):
            return self._data[selection]

    assert Whole().read_block((2,)).tolist() == [8, 9]
