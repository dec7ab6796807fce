"""Metadata on the client: a read-only view, JSON Patch from a diff, and revisions."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jsonpatch

from ..structures.core import Spec

if TYPE_CHECKING:
    from .context import Context

__all__ = ["DictView", "MetadataRevisions", "metadata_patch", "specs_patch"]


class DictView(Mapping[str, Any]):
    """A read-only view of a (nested) dict: change metadata with ``update_metadata``.

    Nested dicts come back as views too; lists come back as copies.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if isinstance(value, Mapping):
            return DictView(value)
        return copy.deepcopy(value) if isinstance(value, list) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DictView):
            return self._data == other._data
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DictView({self._data!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython
        printer.text(repr(self) if cycle else f"DictView({self._data!r})")

    def copy(self) -> dict[str, Any]:
        """A deep, mutable copy of the data."""
        return copy.deepcopy(dict(self._data))


def metadata_patch(current: Mapping[str, Any], update: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSON Patch ops that turn ``current`` into ``current`` updated with ``update``'s keys.

    Only the keys given change; use ``replace_metadata`` to drop keys.
    """
    if not isinstance(update, Mapping):
        raise TypeError(f"metadata must be a dict, not {type(update).__name__}")
    target = copy.deepcopy(dict(current))
    target.update(copy.deepcopy(dict(update)))
    ops: list[dict[str, Any]] = jsonpatch.make_patch(dict(current), target).patch
    return ops


def specs_patch(current: list[Spec], specs: list[Spec | str]) -> list[dict[str, Any]]:
    """JSON Patch ops that turn the node's spec list into ``specs``."""
    old = [s.to_json() for s in current]
    new = [Spec.from_json(s).to_json() for s in specs]
    ops: list[dict[str, Any]] = jsonpatch.make_patch(old, new).patch
    return ops


class MetadataRevisions:
    """Earlier states of a node's metadata and specs, oldest first (``len``, ``[i]``, ``[i:j]``).

    Each revision is a dict with ``revision_number``, ``metadata``, ``specs`` and
    ``time_updated``.
    """

    _PAGE = 100

    def __init__(self, context: Context, path_parts: tuple[str, ...]) -> None:
        self._context = context
        self._url = context.url("revisions", path_parts)

    def _page(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        document = self._context.document(
            "GET", self._url, params={"page[offset]": str(offset), "page[limit]": str(limit)}
        )
        revisions = []
        for item in document["data"]:
            revision = {"revision_number": item["revision_number"], **item["attributes"]}
            if isinstance(revision.get("time_updated"), str):  # JSON carries ISO text
                revision["time_updated"] = datetime.fromisoformat(revision["time_updated"])
            revisions.append(revision)
        return revisions, int(document["meta"]["count"])

    def __len__(self) -> int:
        return self._page(0, 0)[1]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page, count = self._page(offset, self._PAGE)
            yield from page
            offset += len(page)
            if not page or offset >= count:
                return

    def _range(self, start: int, stop: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        while start + len(result) < stop:
            offset = start + len(result)
            page, _ = self._page(offset, min(self._PAGE, stop - offset))
            if not page:
                break
            result.extend(page)
        return result

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return self._range(start, stop)[::step] if step > 0 else list(self)[index]
        count = len(self)
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError(f"revision index {index} out of range ({count} revisions)")
        return self._page(position, 1)[0][0]

    def __repr__(self) -> str:
        return f"<MetadataRevisions {self._url}>"
