"""The Python client: ``from tiled.client import from_uri``.

Synchronous, on httpx; it follows the links the server returns and imports nothing
from the server side (no SQLAlchemy, Starlette or FastAPI).
"""

from __future__ import annotations

from .array import ArrayClient, DaskArrayClient
from .base import BaseClient
from .constructors import from_context, from_uri
from .container import Container
from .context import Context
from .errors import (
    ClientAccessDeniedError,
    ClientAuthenticationError,
    ClientBadRequestError,
    ClientConflictError,
    ClientConnectionError,
    ClientError,
    ClientNotAcceptableError,
    ClientNotFoundError,
    ClientUnsupportedMimetypeError,
    ClientUnsupportedOperationError,
    ClientValidationError,
    NoAPIKeyError,
    ServerError,
)
from .metadata import DictView, MetadataRevisions
from .table import DaskTableClient, DataFrameClient, TableClient

__all__ = [
    "ArrayClient",
    "BaseClient",
    "ClientAccessDeniedError",
    "ClientAuthenticationError",
    "ClientBadRequestError",
    "ClientConflictError",
    "ClientConnectionError",
    "ClientError",
    "ClientNotAcceptableError",
    "ClientNotFoundError",
    "ClientUnsupportedMimetypeError",
    "ClientUnsupportedOperationError",
    "ClientValidationError",
    "Container",
    "Context",
    "DaskArrayClient",
    "DaskTableClient",
    "DataFrameClient",
    "DictView",
    "MetadataRevisions",
    "NoAPIKeyError",
    "ServerError",
    "TableClient",
    "from_context",
    "from_uri",
]
