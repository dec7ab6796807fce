"""Where indexing writes: :class:`CatalogSink` (the catalog, in-process, for ``serve
directory``) and :class:`HttpSink` (a server's bulk endpoints, for ``register``).

Imported lazily, so that the HTTP sink does not load the catalog and vice versa.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import CatalogSink
    from .http import HttpSink, SinkAuthenticationError

__all__ = ["CatalogSink", "HttpSink", "SinkAuthenticationError"]


def __getattr__(name: str) -> Any:
    if name == "CatalogSink":
        from .catalog import CatalogSink

        return CatalogSink
    if name in ("HttpSink", "SinkAuthenticationError"):
        from . import http

        return getattr(http, name)
    raise AttributeError(name)
