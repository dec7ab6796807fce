"""How inspection workers start: forked from a server process that imported the readers.

Kept apart from ``inspect.py`` (which imports the adapters) so that a command can start
that server first thing, with nothing heavy imported: the server then imports h5py,
tifffile and the rest on the other core while the command imports its own libraries,
and the Inspector's workers fork from it at once when the walk begins.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context

PRELOAD = [
    "tiled.registration.inspect",
    "tiled.adapters.tiff",
    "tiled.adapters.npy",
    "tiled.adapters.images",
    "tiled.adapters.hdf5",
    "tiled.adapters.csv",
    "h5py",
    "tifffile",
]


def worker_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` with the readers preloaded, or ``spawn`` where there is none."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def start_worker_server() -> None:
    """Start the fork server now without waiting for its imports (a no-op without one,
    or when it runs already)."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
