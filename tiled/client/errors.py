"""Exceptions the client raises for error responses, each also the matching domain error.

::

    ClientError (tiled.errors.TiledError)       any error response; carries request, response
    ├── ClientBadRequestError (BadRequestError → ValueError)          400
    │   └── ClientValidationError                                     422, names the field
    ├── ClientAuthenticationError (AuthenticationError)               401
    ├── ClientAccessDeniedError (AccessDeniedError → PermissionError) 403
    ├── ClientNotFoundError (NotFoundError → KeyError)                404, 410
    ├── ClientUnsupportedOperationError (UnsupportedOperationError)   405
    ├── ClientNotAcceptableError (NotAcceptableError)                 406
    ├── ClientConflictError (ConflictError)                           409
    ├── ClientUnsupportedMimetypeError (UnsupportedMimetypeError)     415
    ├── ServerError                                                   5xx (after retries)
    └── ClientConnectionError                                         unreachable (after retries)
    NoAPIKeyError (AuthenticationError, RuntimeError)   the server needs a key; none was given

So ``except KeyError`` catches a missing node and ``except tiled.errors.ConflictError``
catches a taken key, whether the error came from the server or from local code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    import httpx

__all__ = [
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
    "NoAPIKeyError",
    "ServerError",
    "error_for_response",
]


class ClientError(errors.TiledError):
    """An error response from the server (or no response at all).

    ``request`` and ``response`` are the httpx objects; ``detail`` is the server's
    ``detail`` field (a string, or the list of field errors of a 422).
    """

    def __init__(
        self,
        message: str,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.request = request
        self.response = response
        self.detail = detail

    @property
    def status_code(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class ClientBadRequestError(ClientError, errors.BadRequestError):
    pass


class ClientValidationError(ClientBadRequestError):
    """422: the request was malformed; ``detail`` lists each field at fault with its ``loc``."""


class ClientAuthenticationError(ClientError, errors.AuthenticationError):
    pass


class ClientAccessDeniedError(ClientError, errors.AccessDeniedError):
    pass


class ClientNotFoundError(ClientError, errors.NotFoundError):
    pass


class ClientUnsupportedOperationError(ClientError, errors.UnsupportedOperationError):
    pass


class ClientNotAcceptableError(ClientError, errors.NotAcceptableError):
    pass


class ClientConflictError(ClientError, errors.ConflictError):
    pass


class ClientUnsupportedMimetypeError(ClientError, errors.UnsupportedMimetypeError):
    pass


class ServerError(ClientError):
    """A 5xx response that persisted through the retries."""


class ClientConnectionError(ClientError):
    """The server could not be reached (or the connection broke) through the retries."""


class NoAPIKeyError(errors.AuthenticationError, RuntimeError):
    """The server requires an API key and none was given; raised before sending one request."""


_BY_STATUS: dict[int, type[ClientError]] = {
    400: ClientBadRequestError,
    401: ClientAuthenticationError,
    403: ClientAccessDeniedError,
    404: ClientNotFoundError,
    405: ClientUnsupportedOperationError,
    406: ClientNotAcceptableError,
    409: ClientConflictError,
    410: ClientNotFoundError,
    415: ClientUnsupportedMimetypeError,
    422: ClientValidationError,
}


def detail_of(response: httpx.Response) -> Any:
    """The server's ``detail``, or the start of the body when it is not a JSON error."""
    if response.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "detail" in body:
            return body["detail"]
    text = response.text
    return text[:500] if text else response.reason_phrase


def describe_detail(detail: Any) -> str:
    """A 422's list of field errors as ``body.data_sources.0.assets: msg; ...``."""
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, dict):
                loc = ".".join(str(p) for p in entry.get("loc", ()))
                parts.append(f"{loc}: {entry.get('msg', entry)}" if loc else str(entry))
            else:
                parts.append(str(entry))
        return "; ".join(parts)
    return str(detail)


def error_for_response(response: httpx.Response) -> ClientError:
    """The exception for an error response (status ≥ 400); the body must have been read."""
    status = response.status_code
    detail = detail_of(response)
    message = f"{status}: {describe_detail(detail)} {response.request.url}"
    if status >= 500:
        cls: type[ClientError] = ServerError
    else:
        cls = _BY_STATUS.get(status, ClientError)
    return cls(message, response.request, response, detail)
