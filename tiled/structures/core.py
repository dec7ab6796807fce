"""Structure families and specs: the vocabulary every node document uses."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["Spec", "StructureFamily"]


class StructureFamily(enum.StrEnum):
    """What kind of thing a node is; selects the client class and the data routes."""

    container = "container"
    array = "array"
    table = "table"
    sparse = "sparse"
    awkward = "awkward"
    ragged = "ragged"
    bytes = "bytes"

    def __str__(self) -> str:
        return self.value


MAX_SPECS = 20
MAX_SPEC_NAME_LENGTH = 255


@dataclass(frozen=True)
class Spec:
    """A named convention a node follows (for example ``NXentry``), optionally versioned."""

    name: str
    version: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"A spec name must be a non-empty string, not {self.name!r}")
        if len(self.name) > MAX_SPEC_NAME_LENGTH:
            raise ValueError(
                f"Spec name {self.name[:40]!r}... is longer than {MAX_SPEC_NAME_LENGTH} characters"
            )
        if self.version is not None and not isinstance(self.version, str):
            raise ValueError(f"Spec version must be a string or null, not {self.version!r}")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    @classmethod
    def from_json(cls, value: Spec | str | dict[str, Any]) -> Spec:
        """Accept the wire form ``{"name", "version"}``, a bare name, or a Spec."""
        if isinstance(value, Spec):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict):
            unknown = set(value) - {"name", "version"}
            if unknown:
                raise ValueError(f"Unknown field(s) in spec: {sorted(unknown)}")
            return cls(value.get("name"), value.get("version"))  # type: ignore[arg-type]
        raise ValueError(f"A spec must be a name or an object with 'name', not {value!r}")


def specs_from_json(values: list[Any] | None) -> list[Spec]:
    """Parse and validate a list of specs (at most 20, no duplicate names)."""
    specs = [Spec.from_json(v) for v in (values or [])]
    if len(specs) > MAX_SPECS:
        raise ValueError(f"A node may have at most {MAX_SPECS} specs, got {len(specs)}")
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Duplicate spec name(s): {duplicates}")
    return specs
