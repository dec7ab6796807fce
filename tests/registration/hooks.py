"""Importable hooks and adapters for the indexing tests (``tests.registration.hooks:...``)."""

from __future__ import annotations

import os
from pathlib import Path

from tiled.adapters.npy import NPYAdapter
from tiled.registration.model import FileState, KeyPath, Planned
from tiled.registration.plan import DirectoryPlan, PlanOptions


def dat_is_npy(path: Path) -> str | None:
    """A mimetype hook: ``*.dat`` files are NPY; anything else falls back."""
    return "application/x-npy" if path.name.endswith(".dat") else None


def broken_hook(path: Path) -> str | None:
    raise RuntimeError("this hook is broken")


def only_bundles(directory: Path, key_path: KeyPath, options: PlanOptions) -> DirectoryPlan | None:
    """A walker: a directory named ``*.bundle`` is one NPY sequence of its ``*.npy`` files,
    in name order; other directories fall back to the default planner."""
    if directory.name == "broken":
        raise RuntimeError("this walker is broken here")
    if not directory.name.endswith(".bundle"):
        return None
    files = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".npy"):
            info = os.stat(directory / name)
            files.append(FileState(directory / name, info.st_size, info.st_mtime_ns))
    planned = Planned(
        key_path=(*key_path, "frames"),
        mimetype="multipart/related;type=application/x-npy",
        files=tuple(files),
        parameter="data_uris",
    )
    return DirectoryPlan(entries=[planned])


class CrashingAdapter(NPYAdapter):
    """Reads NPY, but kills the worker process on a file named ``crash*``."""

    @classmethod
    def from_source(cls, source):
        if source.paths[0].name.startswith("crash"):
            os._exit(3)
        return super().from_source(source)


def _refuse() -> None:
    raise ImportError("this adapter cannot be loaded in a worker")


class Unloadable:
    """An adapter object that pickles but fails to load in a worker process."""

    def __call__(self, source):
        raise NotImplementedError

    def __reduce__(self):
        return (_refuse, ())
