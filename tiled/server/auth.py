"""Single-user API-key authentication.

The key may arrive as ``Authorization: Apikey KEY`` (what clients send), as
``?api_key=KEY`` or as the ``tiled_api_key`` cookie. Keys are compared in constant
time and never logged. Reads are anonymous only on a ``--public`` server.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.responses import Response

from .errors import error_response

READ_METADATA = ("read:metadata",)
READ_DATA = ("read:metadata", "read:data")
WRITE_METADATA = ("write:metadata",)
CREATE = ("write:metadata", "create:node")
REGISTER = ("write:metadata", "create:node", "register")
DELETE = ("delete:node", "delete:revision")

_BAD_SCHEME = (
    "The Authorization header must be 'Apikey <key>' (or 'Bearer <token>' where "
    "tokens are issued); got the scheme {scheme!r}."
)


class AuthenticationFailed(Exception):
    """Raised by the dependency; carries the ready-made response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def presented_key(request: Request) -> str | None:
    """The API key the request carries, or None; raises AuthenticationFailed on bad syntax."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() == "apikey" and credential.strip():
            return credential.strip()
        if scheme.lower() == "bearer":
            raise AuthenticationFailed(
                error_response(
                    401, "Could not validate credentials", {"WWW-Authenticate": "Bearer"}
                )
            )
        raise AuthenticationFailed(error_response(400, _BAD_SCHEME.format(scheme=scheme)))
    return request.query_params.get("api_key") or request.cookies.get("tiled_api_key") or None


def keys_match(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())


def check_access(request: Request, scopes: tuple[str, ...]) -> None:
    """Allow the request or raise AuthenticationFailed with the right 401/400 response."""
    settings = request.app.state.settings
    key = presented_key(request)
    if key is not None:
        if not keys_match(key, settings.api_key):
            raise AuthenticationFailed(error_response(401, "Invalid API key"))
        return
    if settings.public and all(scope.startswith("read:") for scope in scopes):
        return
    root = str(request.base_url).rstrip("/") + "/api/v1"
    raise AuthenticationFailed(
        error_response(
            401,
            f"Not enough permissions. Requires scopes {list(scopes)}. Request had scopes []",
            {"WWW-Authenticate": f'Bearer scope="{" ".join(scopes)}"', "X-Tiled-Root": root},
        )
    )


def requires(*scopes: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that enforces ``scopes`` for a route."""

    async def dependency(request: Request) -> None:
        check_access(request, scopes)

    return dependency
