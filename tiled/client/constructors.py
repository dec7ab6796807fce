"""Entry points: :func:`from_uri` and :func:`from_context`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .base import BaseClient, client_for_item, structure_client_classes
from .context import DEFAULT_RETRIES, Context, api_key_from_environment, parse_uri

if TYPE_CHECKING:
    import httpx

__all__ = ["from_context", "from_uri"]


def from_uri(
    uri: str,
    structure_clients: str | Mapping[str, type[BaseClient]] = "numpy",
    *,
    api_key: str | None = None,
    include_data_sources: bool = False,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float | None = None,
    verify: bool = True,
    retries: int = DEFAULT_RETRIES,
    transport: httpx.BaseTransport | None = None,
    max_bytes_per_request: int = 100 * 1024**2,
) -> Any:
    """Connect to a tiled server and return the client of the node the URI names.

    Parameters
    ----------
    uri
        ``http://host:port``, ``.../api``, ``.../api/v1``, or
        ``.../api/v1/metadata/a/b`` to start at node ``a/b``. An ``?api_key=`` in the URI
        is moved into a header.
    structure_clients
        ``"numpy"`` (arrays read as numpy, tables as pandas) or ``"dask"`` (lazy; needs
        dask installed).
    api_key
        The server's API key; else the URI's ``api_key``; else ``$TILED_API_KEY``.
    include_data_sources
        Fetch each node's data sources (files, mimetype) along with its metadata.
    retries
        Times a request is re-sent after a transport error or a 503 (4xx never are).
    max_bytes_per_request
        Array reads larger than this are split into several requests.

    Raises
    ------
    NoAPIKeyError
        The server requires a key and none was found (no authenticated request is sent).
    ClientAuthenticationError
        The key is wrong (``401: Invalid API key``).
    ClientNotFoundError
        The URI names a node that does not exist (also a KeyError).

    Examples
    --------
    >>> from tiled.client import from_uri
    >>> client = from_uri("http://localhost:8000", api_key="SECRET")
    >>> client["scan1"][1, 100:110, :]
    """
    parsed = parse_uri(uri)
    structure_client_classes(structure_clients)  # fail on a bad value before connecting
    context = Context(
        parsed.api_uri,
        api_key=api_key or parsed.api_key or api_key_from_environment(),
        headers=headers,
        timeout=timeout,
        verify=verify,
        retries=retries,
        transport=transport,
        max_bytes_per_request=max_bytes_per_request,
    )
    try:
        return from_context(
            context,
            structure_clients,
            path_parts=parsed.path_parts,
            include_data_sources=include_data_sources,
        )
    except BaseException:
        context.close()
        raise


def from_context(
    context: Context,
    structure_clients: str | Mapping[str, type[BaseClient]] = "numpy",
    *,
    path_parts: tuple[str, ...] = (),
    include_data_sources: bool = False,
) -> Any:
    """The client of node ``path_parts`` over an existing :class:`Context`."""
    context.check_credentials()
    params = {"include_data_sources": "true"} if include_data_sources else None
    document = context.document("GET", context.url("metadata", path_parts), params=params)
    return client_for_item(context, document["data"], structure_clients, include_data_sources)
