"""The one place where domain exceptions become HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from .. import errors

logger = logging.getLogger("tiled.server")

# Most specific first: the first matching class decides.
STATUS_BY_ERROR: list[tuple[type[errors.TiledError], int]] = [
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.AccessDeniedError, 403),
    (errors.AuthenticationError, 401),
    (errors.ResponseTooLargeError, 400),
    (errors.BadRequestError, 400),
    (errors.UnsupportedMimetypeError, 415),
    (errors.NotAcceptableError, 406),
    (errors.UnsupportedOperationError, 405),
    (errors.DataBusyError, 503),
    (errors.DataGoneError, 410),
    (errors.DataUnavailableError, 500),
    (errors.CatalogError, 503),
]


def status_for(error: errors.TiledError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def error_response(status: int, detail: object, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _handle_tiled_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, errors.TiledError)
    status = status_for(error)
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    if status >= 500:
        logger.warning("%s %s failed: %s", request.method, request.url.path, error.message)
    return error_response(status, error.message, headers)


class ValidationFailure(errors.BadRequestError):
    """Input that parsed but is invalid; answered 422 with its location, like pydantic's."""

    def __init__(self, loc: list[str | int], message: str, value: object = None) -> None:
        super().__init__(message)
        self.loc = loc
        self.value = value


async def _handle_validation_failure(request: Request, error: Exception) -> Response:
    assert isinstance(error, ValidationFailure)
    detail = [{"type": "value_error", "loc": error.loc, "msg": error.message, "input": error.value}]
    return error_response(422, detail)


async def _handle_authentication_failed(request: Request, error: Exception) -> Response:
    from .auth import AuthenticationFailed

    assert isinstance(error, AuthenticationFailed)
    return error.response


def install_error_handlers(app: FastAPI) -> None:
    from .auth import AuthenticationFailed

    app.add_exception_handler(ValidationFailure, _handle_validation_failure)
    app.add_exception_handler(AuthenticationFailed, _handle_authentication_failed)
    app.add_exception_handler(errors.TiledError, _handle_tiled_error)
