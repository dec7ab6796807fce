"""Plain values the catalog returns; callers never see ORM rows."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import BadRequestError
from ..structures.core import Spec, StructureFamily
from ..structures.data_source import DataSource


@dataclass(frozen=True)
class AssetStat:
    """What registration knows about a file on disk, recorded to detect change later."""

    size: int | None
    mtime_ns: int | None


@dataclass(frozen=True)
class NodeRecord:
    id: int
    key: str
    ancestors: tuple[str, ...]
    structure_family: StructureFamily
    metadata: dict[str, Any]
    specs: list[Spec]
    data_sources: list[DataSource]
    time_created: datetime
    time_updated: datetime
    child_count: int | None

    @property
    def path(self) -> tuple[str, ...]:
        return (*self.ancestors, self.key) if self.key else ()


@dataclass(frozen=True)
class Revision:
    revision_number: int
    metadata: dict[str, Any]
    specs: list[Spec]
    time_updated: datetime


def join_path(keys: tuple[str, ...] | list[str]) -> str:
    return "/".join(keys)


def split_stored_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("/")) if path else ()


def structure_id(structure: Mapping[str, Any]) -> str:
    """Structures are stored once per content: the id is the hash of canonical JSON."""
    canonical = json.dumps(structure, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_BAD_KEY = re.compile(r"[/\x00-\x1f\x7f]")
MAX_KEY_LENGTH = 255


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or key in (".", "..") or _BAD_KEY.search(key):
        raise BadRequestError(
            f"{key!r} cannot be a key: keys are non-empty, contain no '/' or control "
            "characters, and are not '.' or '..'"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequestError(f"Keys are at most {MAX_KEY_LENGTH} characters long")
    return key
