"""Keys, values and items of a container, fetched a page at a time as they are used.

``c.keys()[2:5]`` asks for exactly those three; ``c.keys().last()`` asks for the first
entry in reversed order; iterating follows the server's ``links.next``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import BaseClient
    from .container import Container

__all__ = ["ItemsView", "KeysView", "ValuesView"]


class _ListingView:
    """Shared paging and indexing; subclasses say which fields to fetch and what to yield."""

    _fields: tuple[str, ...] | None = None  # None: whole documents

    def __init__(self, container: Container) -> None:
        self._container = container

    def _convert(self, item: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _fetch(self, offset: int, limit: int | None, reverse: bool = False) -> list[Any]:
        items = self._container._resources(offset, limit, self._fields, reverse)
        return [self._convert(item) for item in items]

    def __len__(self) -> int:
        return len(self._container)

    def __iter__(self) -> Iterator[Any]:
        for item in self._container._resources(0, None, self._fields):
            yield self._convert(item)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self._slice(index)
        if not isinstance(index, int):
            raise TypeError(f"indices must be integers or slices, not {type(index).__name__}")
        if index >= 0:
            found = self._fetch(index, 1)
        elif self._container._reversible:
            found = self._fetch(-index - 1, 1, reverse=True)
        else:
            position = len(self._container) + index
            found = self._fetch(position, 1) if position >= 0 else []
        if not found:
            raise IndexError(f"index {index} is out of range for {self._container!r}")
        return found[0]

    def _from_end(self, n: int) -> list[Any]:
        """The last ``n`` entries, first of them first."""
        if n <= 0:
            return []
        if self._container._reversible:
            return self._fetch(0, n, reverse=True)[::-1]
        count = len(self._container)
        return self._fetch(max(count - n, 0), min(n, count))

    def _slice(self, index: slice) -> list[Any]:
        start, stop, step = index.start, index.stop, index.step
        if step in (None, 1) and (start or 0) >= 0 and (stop is None or stop >= 0):
            start = start or 0
            if stop is not None and stop <= start:
                return []
            return self._fetch(start, None if stop is None else stop - start)
        if step in (None, 1) and start is not None and start < 0 and stop is None:
            return self._from_end(-start)
        positions = range(*index.indices(len(self._container)))
        if not positions:
            return []
        low, high = min(positions), max(positions) + 1
        window = self._fetch(low, high - low)
        return [window[p - low] for p in positions if p - low < len(window)]

    def first(self) -> Any:
        """The first entry (IndexError if there is none)."""
        return self[0]

    def last(self) -> Any:
        """The last entry (IndexError if there is none)."""
        found = self._from_end(1)
        if not found:
            raise IndexError(f"{self._container!r} is empty")
        return found[0]

    def head(self, n: int = 5) -> list[Any]:
        """The first ``n`` entries."""
        return self._fetch(0, n) if n > 0 else []

    def tail(self, n: int = 5) -> list[Any]:
        """The last ``n`` entries, in order."""
        return self._from_end(n)

    def __repr__(self) -> str:
        shown = self.head(10)
        more = ", ..." if len(shown) == 10 else ""
        return f"<{type(self).__name__} [{', '.join(map(repr, shown))}{more}]>"


class KeysView(_ListingView):
    _fields = ("",)

    def _convert(self, item: dict[str, Any]) -> str:
        return str(item["id"])

    def __contains__(self, key: object) -> bool:
        return key in self._container


class ValuesView(_ListingView):
    def _convert(self, item: dict[str, Any]) -> BaseClient:
        return self._container._client_for(item)


class ItemsView(_ListingView):
    def _convert(self, item: dict[str, Any]) -> tuple[str, BaseClient]:
        return str(item["id"]), self._container._client_for(item)
