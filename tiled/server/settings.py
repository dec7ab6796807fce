"""What a server process needs to know; built by the CLI or by tests.

Worker processes started by ``serve catalog --workers N`` rebuild their settings from
the environment (:func:`settings_to_environment`, :func:`settings_from_environment`):
the API key travels in its own variable, never in a command line or a log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..catalog.pool import DEFAULT_CONNECTION_BUDGET, PoolSettings

DEFAULT_MAX_RESPONSE_BYTES = 300 * 1024**2
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024**2
DEFAULT_READ_CONCURRENCY = 8
DEFAULT_MAX_EXPORT_NODES = 10_000  # nodes in one /container/full export
DEFAULT_MAX_BULK_CHANGES = 5000  # changes in one POST /api/v1/bulk/register request
DEFAULT_REQUEST_TIMEOUT = 60.0  # from the request to the start of the response
DEFAULT_IDLE_TIMEOUT = 30.0  # a client that sends or reads nothing for this long is dropped

SETTINGS_ENV = "TILED_SERVER_SETTINGS"
API_KEY_ENV = "TILED_SINGLE_USER_API_KEY"


@dataclass(frozen=True)
class ServerSettings:
    """Configuration of one server process.

    ``readable`` lists the only directories whose files may be registered and served;
    ``api_key`` is the single-user key (required for writes, and for reads unless
    ``public``). ``workers`` is how many processes share the catalog: each one's
    database pool gets ``connection_budget / workers`` connections.
    """

    catalog_uri: str
    api_key: str
    readable: tuple[Path, ...] = ()
    public: bool = False
    init: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_export_nodes: int = DEFAULT_MAX_EXPORT_NODES
    max_bulk_changes: int = DEFAULT_MAX_BULK_CHANGES
    read_concurrency: int = DEFAULT_READ_CONCURRENCY
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    workers: int = 1
    connection_budget: int = DEFAULT_CONNECTION_BUDGET
    adapters: tuple[str, ...] = ()  # --adapter specs, loaded again in every worker
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("The server needs an API key (pass --api-key or let one be generated)")
        object.__setattr__(self, "readable", tuple(Path(p).resolve() for p in self.readable))
        for name in (
            "max_response_bytes",
            "max_request_bytes",
            "max_export_nodes",
            "max_bulk_changes",
            "read_concurrency",
            "workers",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("request_timeout", "idle_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")

    @property
    def pool(self) -> PoolSettings:
        return PoolSettings.for_workers(self.workers, self.connection_budget)

    def __repr__(self) -> str:  # never show the key
        return (
            f"ServerSettings(catalog_uri={self.catalog_uri!r}, readable={list(self.readable)!r}, "
            f"public={self.public}, workers={self.workers})"
        )


def settings_to_environment(settings: ServerSettings) -> dict[str, str]:
    """Variables from which :func:`settings_from_environment` rebuilds ``settings``."""
    values: dict[str, Any] = asdict(settings)
    del values["api_key"]
    values["readable"] = [str(p) for p in settings.readable]
    return {SETTINGS_ENV: json.dumps(values), API_KEY_ENV: settings.api_key}


def settings_from_environment(environ: Mapping[str, str] = os.environ) -> ServerSettings:
    """The settings a parent process left in the environment for its workers."""
    raw = environ.get(SETTINGS_ENV)
    if not raw:
        raise RuntimeError(
            f"{SETTINGS_ENV} is not set: start workers with `tiled serve catalog --workers N`"
        )
    values = json.loads(raw)
    known = {f.name for f in fields(ServerSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise RuntimeError(f"{SETTINGS_ENV} holds unknown settings: {', '.join(unknown)}")
    values["readable"] = tuple(Path(p) for p in values.get("readable", ()))
    values["adapters"] = tuple(values.get("adapters", ()))
    return ServerSettings(api_key=environ.get(API_KEY_ENV, ""), **values)
