"""What a server process needs to know; built by the CLI or by tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_RESPONSE_BYTES = 300 * 1024**2
DEFAULT_READ_CONCURRENCY = 8


@dataclass(frozen=True)
class ServerSettings:
    """Configuration of one server process.

    ``readable`` lists the only directories whose files may be registered and served;
    ``api_key`` is the single-user key (required for writes, and for reads unless
    ``public``).
    """

    catalog_uri: str
    api_key: str
    readable: tuple[Path, ...] = ()
    public: bool = False
    init: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    read_concurrency: int = DEFAULT_READ_CONCURRENCY
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("The server needs an API key (pass --api-key or let one be generated)")
        object.__setattr__(self, "readable", tuple(Path(p).resolve() for p in self.readable))

    def __repr__(self) -> str:  # never show the key
        return (
            f"ServerSettings(catalog_uri={self.catalog_uri!r}, readable={list(self.readable)!r}, "
            f"public={self.public})"
        )
