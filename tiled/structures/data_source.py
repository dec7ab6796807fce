"""Data sources and assets: which files hold a node's data and how to read them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .array import ArrayStructure
from .container import FileContainerStructure
from .core import StructureFamily
from .table import TableStructure

__all__ = ["Asset", "DataSource", "Management", "structure_from_json"]


class Management(enum.StrEnum):
    """Who owns the bytes: ``external`` files are never written or deleted by the server."""

    external = "external"
    immutable = "immutable"
    locked = "locked"
    writable = "writable"


Structure = ArrayStructure | TableStructure | FileContainerStructure

_ASSET_FIELDS = {"data_uri", "is_directory", "parameter", "num", "id", "size"}
_DATA_SOURCE_FIELDS = {
    "id",
    "structure_family",
    "structure",
    "mimetype",
    "parameters",
    "properties",
    "assets",
    "management",
}


@dataclass
class Asset:
    """One file or directory, and which reader argument (``parameter``, ``num``) receives it."""

    data_uri: str
    is_directory: bool = False
    parameter: str | None = None
    num: int | None = None
    id: int | None = None
    size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "data_uri": self.data_uri,
            "is_directory": self.is_directory,
            "parameter": self.parameter,
            "num": self.num,
            "id": self.id,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Asset:
        _check_fields(value, _ASSET_FIELDS, "asset")
        if "data_uri" not in value:
            raise ValueError("An asset needs a data_uri")
        return cls(
            data_uri=value["data_uri"],
            is_directory=bool(value.get("is_directory", False)),
            parameter=value.get("parameter"),
            num=value.get("num"),
            id=value.get("id"),
            size=value.get("size"),
        )


@dataclass
class DataSource:
    """How a node's data is stored: a mimetype, reader parameters, a structure and assets.

    ``structure_family`` may be omitted; it is then taken from the structure's type.
    """

    structure_family: StructureFamily | None = None
    structure: Structure | None = None
    id: int | None = None
    mimetype: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    management: Management = Management.external

    def __post_init__(self) -> None:
        if self.structure_family is None:
            self.structure_family = _family_of(self.structure)
        self.structure_family = StructureFamily(self.structure_family)
        self.management = Management(self.management)
        if isinstance(self.structure, dict) or self.structure is None:
            self.structure = structure_from_json(self.structure_family, self.structure)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "structure_family": self.structure_family.value if self.structure_family else None,
            "structure": self.structure.to_json() if self.structure is not None else None,
            "mimetype": self.mimetype,
            "parameters": self.parameters,
            "properties": self.properties,
            "assets": [a.to_json() for a in self.assets],
            "management": self.management.value,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DataSource:
        _check_fields(value, _DATA_SOURCE_FIELDS, "data source")
        family = StructureFamily(value["structure_family"])
        return cls(
            structure_family=family,
            structure=structure_from_json(family, value.get("structure")),
            id=value.get("id"),
            mimetype=value.get("mimetype"),
            parameters=dict(value.get("parameters") or {}),
            properties=dict(value.get("properties") or {}),
            assets=[Asset.from_json(a) for a in value.get("assets") or []],
            management=Management(value.get("management", "external")),
        )


def structure_from_json(family: StructureFamily | str, value: Any) -> Structure | None:
    """Parse the structure of a data source of the given family."""
    family = StructureFamily(family)
    if isinstance(value, ArrayStructure | TableStructure | FileContainerStructure):
        return value
    if family == StructureFamily.array:
        if value is None:
            raise ValueError("An array data source needs a structure")
        return ArrayStructure.from_json(value)
    if family == StructureFamily.table:
        if value is None:
            raise ValueError("A table data source needs a structure")
        return TableStructure.from_json(value)
    if family == StructureFamily.container:
        return FileContainerStructure.from_json(value)
    raise ValueError(f"Structure family {family.value!r} is not supported")


def _family_of(structure: Any) -> StructureFamily:
    if isinstance(structure, ArrayStructure):
        return StructureFamily.array
    if isinstance(structure, TableStructure):
        return StructureFamily.table
    if isinstance(structure, FileContainerStructure):
        return StructureFamily.container
    raise ValueError("structure_family is required when the structure does not imply it")


def _check_fields(value: Any, allowed: set[str], what: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"A {what} must be an object, not {type(value).__name__}")
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(f"Unknown field(s) in {what}: {sorted(unknown)}")
