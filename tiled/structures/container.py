"""Container structures: the node-level ``{contents, count}`` and a file's ``{keys}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ContainerStructure", "FileContainerStructure"]


@dataclass(frozen=True)
class ContainerStructure:
    """What a container node reports: its child count (``contents`` may inline children)."""

    count: int
    contents: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"contents": self.contents, "count": self.count}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ContainerStructure:
        return cls(value.get("count", 0), value.get("contents"))


@dataclass(frozen=True)
class FileContainerStructure:
    """Inside a data source of a file that is a tree (HDF5, Excel): its top-level names."""

    keys: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"keys": list(self.keys) if self.keys is not None else None}

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> FileContainerStructure:
        if value is None:
            return cls(None)
        if not isinstance(value, dict):
            raise ValueError("A container data source's structure must be an object or null")
        unknown = set(value) - {"keys", "contents", "count"}
        if unknown:
            raise ValueError(f"Unknown field(s) in container structure: {sorted(unknown)}")
        keys = value.get("keys")
        if keys is not None and not all(isinstance(k, str) for k in keys):
            raise ValueError("Container structure keys must be strings")
        return cls(tuple(keys) if keys is not None else None)
