"""Lazy dask collections over array blocks and table partitions (dask is optional).

Each dask task reads one block (``/array/block``) or one partition through the same
client, so nothing is fetched until ``compute()`` and only the blocks a computation
touches are fetched. The tasks hold the client: use dask's threaded or synchronous
schedulers (the default), not a distributed cluster.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .array import ArrayClient
    from .table import TableClient

__all__ = ["dask_array", "dask_dataframe"]


def _import(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"from_uri(..., 'dask') needs dask: pip install \"dask[{extra}]\" (or use the "
            "default 'numpy' structure clients)"
        ) from err


def dask_array(client: ArrayClient) -> Any:
    """A dask array with one task per block of the node's chunk grid."""
    da = _import("dask.array", "array")
    from dask.base import tokenize

    structure = client.structure()
    read_block = _BlockReader(client)
    name = f"tiled-array-{tokenize(client.uri, structure.to_json())}"
    grid = [range(len(dim)) for dim in structure.chunks]
    graph = {(name, *block): (read_block, block) for block in itertools.product(*grid)}
    return da.Array(graph, name, structure.chunks, dtype=client.dtype)


class _BlockReader:
    """Reads one block; named by the node's URI so dask can tokenize it."""

    def __init__(self, client: ArrayClient) -> None:
        self.client = client

    def __dask_tokenize__(self) -> Any:
        return ("tiled-block", self.client.uri)

    def __call__(self, block: tuple[int, ...]) -> Any:
        from .array import ArrayClient

        return ArrayClient.read_block(self.client, block)

    def __repr__(self) -> str:
        return f"read_block({self.client.path!r})"


def dask_dataframe(client: TableClient, columns: Sequence[str] | None) -> Any:
    """A dask DataFrame with one partition per server partition."""
    dd = _import("dask.dataframe", "dataframe")

    meta = client.structure().arrow_schema_decoded.empty_table().to_pandas()
    if columns:
        meta = meta[list(columns)]
    if client.npartitions == 0:
        return dd.from_pandas(meta, npartitions=1)
    reader = _PartitionReader(client, columns)
    return dd.from_map(reader, range(client.npartitions), meta=meta, label="tiled-table")


class _PartitionReader:
    """Reads one partition (only the requested columns)."""

    def __init__(self, client: TableClient, columns: Sequence[str] | None) -> None:
        self.client = client
        self.columns = list(columns) if columns else None

    def __dask_tokenize__(self) -> Any:
        return ("tiled-partition", self.client.uri, self.columns)

    def __call__(self, index: int) -> Any:
        from .table import TableClient

        return TableClient.read_partition(self.client, index, self.columns)
