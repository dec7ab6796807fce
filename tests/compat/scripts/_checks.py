"""Runs on the official client's python (never in the test process): a tiny harness that
executes a script's checks in order and records each one's value or exception.

Usage inside a driver script::

    from _checks import check, main

    @check
    def browse_len(ctx):
        return len(ctx.client())

    main()

Values must be JSON-able, numpy arrays (written as ``.npy``) or pandas frames (written as
Parquet); exceptions are recorded with their type, the names of their base classes and
their message, so the test process can compare exception types with the original server's.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


class Context:
    """What a check gets: the test's context values and a lazily connected client."""

    def __init__(self, values, workdir):
        self.values = values
        self.workdir = workdir
        self._client = None

    def __getitem__(self, key):
        return self.values[key]

    def client(self, structure_clients="numpy"):
        from tiled.client import from_uri

        if structure_clients != "numpy":
            return from_uri(self["url"], structure_clients, api_key=self["api_key"])
        if self._client is None:
            self._client = from_uri(self["url"], api_key=self["api_key"])
        return self._client


def _encode(value, name, workdir, counter):
    import numpy

    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas comes with tiled[client]
        pandas = None
    if pandas is not None and isinstance(value, pandas.DataFrame):
        counter[0] += 1
        path = workdir / f"{name}-{counter[0]}.parquet"
        value.to_parquet(path)
        return {"__parquet__": str(path)}
    if isinstance(value, numpy.ndarray):
        counter[0] += 1
        path = workdir / f"{name}-{counter[0]}.npy"
        numpy.save(path, value, allow_pickle=False)
        return {"__npy__": str(path)}
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _encode(v, name, workdir, counter) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v, name, workdir, counter) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"check {name} returned an unencodable {type(value).__name__}: {value!r}")


def _describe(error):
    cls = type(error)
    status = None
    response = getattr(error, "response", None)
    if response is not None:
        status = getattr(response, "status_code", None)
    return {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "types": [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__],
        "message": str(error)[:4000],
        "status": status,
        "traceback": "".join(traceback.format_exception(error))[-6000:],
    }


def main():
    import tiled

    context_file, results_file = Path(sys.argv[1]), Path(sys.argv[2])
    workdir = results_file.parent
    values = json.loads(context_file.read_text())
    results = {
        "__tiled__": {"value": {"version": tiled.__version__, "file": tiled.__file__}},
    }
    only = set(values.get("only") or ())
    ctx = Context(values, workdir)
    for function in CHECKS:
        name = function.__name__
        if only and name not in only:
            continue
        counter = [0]
        try:
            results[name] = {"value": _encode(function(ctx), name, workdir, counter)}
        except Exception as error:
            results[name] = {"error": _describe(error)}
        finally:
            os.environ.pop("TILED_API_KEY", None)
    results_file.write_text(json.dumps(results))
