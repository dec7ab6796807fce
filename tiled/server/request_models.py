"""Request bodies, validated by pydantic so that a malformed body is a 422 that names
the field at fault (``loc``), as the v1 API does."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..structures.core import StructureFamily
from ..structures.data_source import Management
from .errors import ValidationFailure


def reject_non_finite(value: Any, loc: list[str | int]) -> None:
    """Refuse NaN and Infinity (422 naming where): Python's JSON parser accepts them, but
    they are not JSON, the catalog cannot store them and no client could read them back."""
    if isinstance(value, float) and not math.isfinite(value):
        where = ".".join(str(part) for part in loc[1:])
        label = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        raise ValidationFailure(
            loc,
            f"{where} is {label}, which JSON does not allow (numbers beyond ±1.8e308 read as "
            'Infinity); send null or a string such as "NaN" instead',
        )
    if isinstance(value, dict):
        for key, item in value.items():
            reject_non_finite(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            reject_non_finite(item, [*loc, index])


class AssetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_uri: str
    is_directory: bool = False
    parameter: str | None = None
    num: int | None = None
    id: int | None = None
    size: int | None = None


class DataSourceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    structure_family: StructureFamily
    structure: dict[str, Any] | None = None
    mimetype: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    assets: list[AssetBody] = Field(default_factory=list)
    management: Management = Management.external


class SpecBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    version: str | None = None


class NodeBody(BaseModel):
    """Body of ``POST /metadata/{parent}`` and ``POST /register/{parent}``."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    structure_family: StructureFamily
    metadata: dict[str, Any] = Field(default_factory=dict)
    specs: list[SpecBody] = Field(default_factory=list, max_length=20)
    data_sources: list[DataSourceBody] = Field(default_factory=list)
    access_tags: list[str] | None = None
    ancestors: list[str] | None = None  # the URL path is authoritative; accepted and ignored

    @field_validator("specs", mode="before")
    @classmethod
    def _names_become_specs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    def check_finite(self) -> None:
        """422 when the metadata or a data source holds NaN or Infinity."""
        reject_non_finite(self.metadata, ["body", "metadata"])
        for i, source in enumerate(self.data_sources):
            for name in ("structure", "parameters", "properties"):
                reject_non_finite(getattr(source, name), ["body", "data_sources", i, name])


class PatchBody(BaseModel):
    """Body of ``PATCH /metadata/{path}``: JSON Patch or JSON Merge Patch."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    content_type: Literal["application/json-patch+json", "application/merge-patch+json"] = Field(
        alias="content-type"
    )
    metadata: Any = None
    specs: Any = Field(...)
    access_tags: Any = None

    def check_finite(self) -> None:
        """422 when the patch holds NaN or Infinity."""
        reject_non_finite(self.metadata, ["body", "metadata"])
        reject_non_finite(self.specs, ["body", "specs"])


class ReplaceBody(BaseModel):
    """Body of ``PUT /metadata/{path}``; null means keep."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Any] | None = None
    specs: list[Any] | None = None
    access_tags: list[str] | None = None

    def check_finite(self) -> None:
        """422 when the new metadata holds NaN or Infinity."""
        reject_non_finite(self.metadata, ["body", "metadata"])
        reject_non_finite(self.specs, ["body", "specs"])
