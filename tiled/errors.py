"""The one exception tree of tiled. Domain code raises these; only ``tiled.server``
turns them into HTTP responses (``server/errors.py`` holds the status table) and the
client raises ``ClientError`` subclasses for error responses.

::

    TiledError
    ├── NotFoundError (KeyError)           a node, a key, a column that does not exist
    ├── ConflictError                      the key is taken; the container is not empty
    ├── AccessDeniedError (PermissionError) a path outside every readable directory
    ├── AuthenticationError                missing or wrong API key
    ├── BadRequestError (ValueError)       malformed input the caller can fix
    │   ├── InvalidQueryError              a query that cannot run (bad regex, bad value)
    │   ├── InvalidSliceError              a slice, block or partition outside the data
    │   └── ResponseTooLargeError          a response above the configured limit
    ├── UnsupportedMimetypeError           no reader for a data source's mimetype
    ├── NotAcceptableError                 no encoder for any requested media type
    ├── UnsupportedOperationError          the node cannot do that (delete inside a file)
    ├── DataUnavailableError               the file cannot be read right now
    │   ├── DataBusyError                  a writer holds the file; try again later
    │   └── DataGoneError                  missing, truncated, corrupt or changed since
    │                                      registration (deterministic: re-register)
    └── CatalogError                       the catalog database cannot be used as is
        ├── CatalogNotInitializedError     no schema yet: run with --init
        ├── CatalogSchemaError             an older or newer schema: upgrade
        └── CatalogUnavailableError        down, restarting, locked or out of connections
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BadRequestError",
    "CatalogError",
    "CatalogNotInitializedError",
    "CatalogSchemaError",
    "CatalogUnavailableError",
    "ConflictError",
    "DataBusyError",
    "DataGoneError",
    "DataUnavailableError",
    "InvalidQueryError",
    "InvalidSliceError",
    "NotAcceptableError",
    "NotFoundError",
    "ResponseTooLargeError",
    "TiledError",
    "UnsupportedMimetypeError",
    "UnsupportedOperationError",
]


class TiledError(Exception):
    """Base of every error tiled raises on purpose."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFoundError(TiledError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class ConflictError(TiledError):
    pass


class AccessDeniedError(TiledError, PermissionError):
    pass


class AuthenticationError(TiledError):
    pass


class BadRequestError(TiledError, ValueError):
    pass


class InvalidQueryError(BadRequestError):
    pass


class InvalidSliceError(BadRequestError):
    pass


class ResponseTooLargeError(BadRequestError):
    pass


class UnsupportedMimetypeError(TiledError):
    pass


class NotAcceptableError(TiledError):
    pass


class UnsupportedOperationError(TiledError):
    pass


class DataUnavailableError(TiledError):
    pass


class DataBusyError(DataUnavailableError):
    """Carries how many seconds to wait before trying again."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DataGoneError(DataUnavailableError):
    """The registered data is no longer there as registered; retrying will not help."""


class CatalogError(TiledError):
    pass


class CatalogNotInitializedError(CatalogError):
    pass


class CatalogSchemaError(CatalogError):
    pass


class CatalogUnavailableError(CatalogError):
    """The database cannot serve right now; carries how many seconds to wait."""

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after
