"""From a URL path to a node: catalog rows first, then into files (HDF5 groups, sheets,
table columns) through the adapters.

File access always re-checks the asset paths against the readable directories, so a
catalog written by another process cannot make this server read outside them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request

from ..adapters.registry import open_adapter
from ..catalog import Catalog, NodeRecord
from ..errors import (
    DataBusyError,
    DataUnavailableError,
    NotFoundError,
    TiledError,
)
from ..structures.core import StructureFamily
from ..structures.data_source import DataSource
from .documents import DEFAULT_SORTING, NodeView
from .file_access import CheckedPaths
from .threads import run_bounded

logger = logging.getLogger("tiled.server")
T = TypeVar("T")


def split_path(path: str) -> tuple[str, ...]:
    """URL path to keys; empty segments are ignored (clients send ``metadata//key``)."""
    return tuple(part for part in path.split("/") if part)


def catalog_of(request: Request) -> Catalog:
    return request.app.state.catalog


async def in_thread(request: Request, func: Callable[..., T], *args: Any) -> T:
    """Run blocking file I/O in a worker thread, bounded per process."""
    return await run_bounded(request.app.state.read_limiter, func, *args)


@dataclass
class ResolvedNode:
    """A node found by path: its catalog record (or the nearest one) and what lies inside."""

    path: tuple[str, ...]
    record: NodeRecord
    inner: tuple[str, ...]  # keys below the record, inside its file(s)
    adapter: Any = None

    @property
    def is_catalog_node(self) -> bool:
        return not self.inner


async def resolve(request: Request, path: Sequence[str]) -> ResolvedNode:
    """Find the node at ``path``; 404 names the whole path when any part is missing."""
    path = tuple(path)
    catalog = catalog_of(request)
    try:
        return ResolvedNode(path, await catalog.lookup(path), ())
    except NotFoundError:
        if len(path) < 2:
            raise
    for depth in range(len(path) - 1, 0, -1):
        try:
            record = await catalog.lookup(path[:depth])
        except NotFoundError:
            continue
        if not record.data_sources:
            break
        node = ResolvedNode(path, record, path[depth:])
        node.adapter = await in_thread(request, _descend, request, node)
        return node
    raise NotFoundError(f"No such entry: {list(path)}")


def naming(err: DataUnavailableError, name: str) -> DataUnavailableError:
    """The same kind of error with the node it concerns in its message (added once)."""
    if getattr(err, "node", None) is not None:
        return err
    message = f"The data of node {name!r} cannot be read: {err}"
    if isinstance(err, DataBusyError):
        named: DataUnavailableError = DataBusyError(message, err.retry_after)
    else:
        named = type(err)(message)
    named.node = name  # type: ignore[attr-defined]
    return named


def _descend(request: Request, node: ResolvedNode) -> Any:
    return _naming_failures("/".join(node.path), _descend_unnamed, request, node)


def _descend_unnamed(request: Request, node: ResolvedNode) -> Any:
    adapter = open_record_adapter(request, node.record)
    for key in node.inner:
        family = getattr(adapter, "structure_family", None)
        try:
            if family == StructureFamily.container:
                adapter = adapter[key]
            elif family == StructureFamily.table:
                adapter = adapter.column(key)
            else:
                raise KeyError(key)
        except (KeyError, NotFoundError) as err:
            raise NotFoundError(f"No such entry: {list(node.path)}") from err
    return adapter


async def adapter_of(request: Request, node: ResolvedNode) -> Any:
    if node.adapter is None:
        node.adapter = await in_thread(request, open_record_adapter, request, node.record)
    return node.adapter


def asset_paths(data_source: DataSource, readable: Sequence[Path], node: str) -> CheckedPaths:
    """The data source's files in reader order (by parameter, then num), each checked
    again when the adapter first uses it."""
    ordered = sorted(
        data_source.assets,
        key=lambda a: (a.parameter or "", a.num if a.num is not None else -1),
    )
    return CheckedPaths([asset.data_uri for asset in ordered], readable, node)


def open_record_adapter(request: Request, record: NodeRecord) -> Any:
    """Open the format adapter for a catalog node with a data source (blocking)."""
    name = "/".join(record.path)
    if not record.data_sources:
        raise NotFoundError(f"Node {name!r} has no data to read")
    data_source = record.data_sources[0]
    readable = request.app.state.settings.readable
    paths = asset_paths(data_source, readable, name)
    try:
        return open_adapter(
            data_source.mimetype or "",
            paths,
            structure=data_source.structure,
            parameters=data_source.parameters,
            metadata=record.metadata,
            specs=record.specs,
            readable=readable,
        )
    except DataUnavailableError as err:
        named = naming(err, name)
        if named is err:
            raise
        raise named from err
    except TiledError:
        raise
    except (OSError, ValueError) as err:
        logger.warning("Cannot open data of node %r: %r", name, err)
        raise DataUnavailableError(f"The data of node {name!r} cannot be read: {err}") from err


def view_of_record(record: NodeRecord, child_count: int | None = None) -> NodeView:
    """A catalog node as the API shows it."""
    family = record.structure_family
    data_source = record.data_sources[0] if record.data_sources else None
    if family == StructureFamily.container:
        count = record.child_count or 0
        if data_source is not None and data_source.structure is not None:
            keys = getattr(data_source.structure, "keys", None)
            count = len(keys) if keys is not None else count
        if child_count is not None:
            count = child_count
        structure: Any = {"contents": None, "count": count}
        sorting = DEFAULT_SORTING
    else:
        structure = (
            data_source.structure.to_json() if data_source and data_source.structure else None
        )
        sorting = None
    return NodeView(
        path=record.path,
        structure_family=family,
        metadata=record.metadata,
        specs=list(record.specs),
        structure=structure,
        data_sources=list(record.data_sources),
        access_tags=[],
        sorting=sorting,
    )


def view_of_adapter(path: tuple[str, ...], adapter: Any) -> NodeView:
    """A node inside a file, synthesised from its adapter (blocking: may read headers)."""
    return _naming_failures("/".join(path), _view_of_adapter, path, adapter)


def view_of_child(path: tuple[str, ...], parent: Any, key: str) -> NodeView:
    """The view of ``parent[key]`` for a listing (blocking); failures name the child."""
    child = (*path, key)
    return _naming_failures("/".join(child), lambda: _view_of_adapter(child, parent[key]))


def _naming_failures(name: str, func: Callable[..., T], *args: Any) -> T:
    try:
        return func(*args)
    except DataUnavailableError as err:
        named = naming(err, name)
        if named is err:
            raise
        raise named from err


def _view_of_adapter(path: tuple[str, ...], adapter: Any) -> NodeView:
    family = StructureFamily(adapter.structure_family)
    if family == StructureFamily.container:
        structure: Any = {"contents": None, "count": len(adapter.keys())}
        sorting = DEFAULT_SORTING
    else:
        structure = adapter.structure().to_json()
        sorting = None
    return NodeView(
        path=path,
        structure_family=family,
        metadata=adapter.metadata(),
        specs=list(adapter.specs()),
        structure=structure,
        data_sources=None,
        access_tags=None,
        sorting=sorting,
    )


async def view_of(request: Request, node: ResolvedNode) -> NodeView:
    if node.is_catalog_node:
        return view_of_record(node.record)
    return await in_thread(request, view_of_adapter, node.path, node.adapter)
