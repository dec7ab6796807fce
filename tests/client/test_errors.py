"""Error responses become exceptions that carry request, response and the server's detail."""

import httpx
import pytest

from tiled import errors
from tiled.client import errors as client_errors
from tiled.client.errors import error_for_response


def response(status, **kwargs):
    return httpx.Response(status, request=httpx.Request("GET", "http://h/api/v1/x"), **kwargs)


@pytest.mark.parametrize(
    ("status", "cls", "domain"),
    [
        (400, client_errors.ClientBadRequestError, ValueError),
        (401, client_errors.ClientAuthenticationError, errors.AuthenticationError),
        (403, client_errors.ClientAccessDeniedError, PermissionError),
        (404, client_errors.ClientNotFoundError, KeyError),
        (405, client_errors.ClientUnsupportedOperationError, errors.UnsupportedOperationError),
        (406, client_errors.ClientNotAcceptableError, errors.NotAcceptableError),
        (409, client_errors.ClientConflictError, errors.ConflictError),
        (410, client_errors.ClientNotFoundError, errors.NotFoundError),
        (415, client_errors.ClientUnsupportedMimetypeError, errors.UnsupportedMimetypeError),
        (422, client_errors.ClientValidationError, errors.BadRequestError),
        (418, client_errors.ClientError, errors.TiledError),
        (500, client_errors.ServerError, client_errors.ClientError),
        (503, client_errors.ServerError, client_errors.ClientError),
    ],
)
def test_status_to_class(status, cls, domain):
    error = error_for_response(response(status, json={"detail": "what went wrong"}))
    assert type(error) is cls
    assert isinstance(error, domain)
    assert str(error) == f"{status}: what went wrong http://h/api/v1/x"
    assert error.detail == "what went wrong"
    assert error.status_code == status
    assert error.request.url == "http://h/api/v1/x"


def test_validation_errors_name_each_field():
    detail = [
        {
            "type": "missing",
            "loc": ["body", "data_sources", 0, "mimetype"],
            "msg": "Field required",
        },
        {"type": "value_error", "loc": ["query", "slice"], "msg": "malformed"},
    ]
    error = error_for_response(response(422, json={"detail": detail}))
    assert str(error) == (
        "422: body.data_sources.0.mimetype: Field required; query.slice: malformed "
        "http://h/api/v1/x"
    )
    assert error.detail == detail


def test_non_json_error_bodies_are_shown_briefly():
    error = error_for_response(response(502, text="<html>bad gateway</html>" * 100))
    assert isinstance(error, client_errors.ServerError)
    assert len(error.detail) == 500
    assert error_for_response(response(500)).detail == "Internal Server Error"


def test_all_client_errors_are_tiled_errors():
    names = [n for n in client_errors.__all__ if n.endswith("Error")]
    for name in names:
        assert issubclass(getattr(client_errors, name), errors.TiledError), name
