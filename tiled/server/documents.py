"""Node documents ("resources") and their links, as the v1 API shapes them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..structures.core import Spec, StructureFamily
from ..structures.data_source import DataSource

ALL_FIELDS = frozenset(
    {
        "metadata",
        "structure_family",
        "structure",
        "count",
        "sorting",
        "specs",
        "data_sources",
        "access_tags",
    }
)
DEFAULT_SORTING = [{"key": "", "direction": 1}]


@dataclass
class NodeView:
    """What any node, from the catalog or from inside a file, shows the world."""

    path: tuple[str, ...]
    structure_family: StructureFamily
    metadata: dict[str, Any]
    specs: list[Spec]
    structure: Any  # JSON-ready structure, or None
    data_sources: list[DataSource] | None = None
    access_tags: list[str] | None = field(default_factory=list)
    sorting: list[dict[str, Any]] | None = None

    @property
    def key(self) -> str:
        return self.path[-1] if self.path else ""


def path_url(parts: Sequence[str]) -> str:
    return "/".join(quote(p, safe="") for p in parts)


def links_for(api: str, family: StructureFamily, path: Sequence[str], ndim: int = 0) -> dict:
    """Absolute links for a node; the client follows them and never builds its own."""
    p = path_url(path)
    links = {"self": f"{api}/metadata/{p}"}
    if family == StructureFamily.container:
        links["search"] = f"{api}/search/{p}"
        links["full"] = f"{api}/container/full/{p}"
    elif family in (StructureFamily.array, StructureFamily.sparse):
        block = ",".join(f"{{{i}}}" for i in range(ndim))
        links["full"] = f"{api}/array/full/{p}"
        links["block"] = f"{api}/array/block/{p}?block={block}"
    elif family == StructureFamily.table:
        links["full"] = f"{api}/table/full/{p}"
        links["partition"] = f"{api}/table/partition/{p}?partition={{index}}"
    return links


def _ndim(structure: Any) -> int:
    if isinstance(structure, dict) and "shape" in structure:
        return len(structure["shape"])
    return 0


def resource(
    api: str,
    node: NodeView,
    fields: Iterable[str] | None = None,
    include_data_sources: bool = False,
    select_metadata: Any = None,
) -> dict[str, Any]:
    """The resource document of one node; unrequested attributes are present as null."""
    wanted = ALL_FIELDS if fields is None else frozenset(fields)
    ids_only = not wanted - {""}
    attributes: dict[str, Any] = {
        "ancestors": list(node.path[:-1]),
        "structure_family": node.structure_family.value if "structure_family" in wanted else None,
        "specs": [s.to_json() for s in node.specs] if "specs" in wanted else None,
        "metadata": node.metadata if "metadata" in wanted else None,
        "structure": node.structure if "structure" in wanted else None,
        "access_tags": node.access_tags if "access_tags" in wanted else None,
        "sorting": node.sorting if "sorting" in wanted else None,
        "data_sources": None,
    }
    if select_metadata is not None and attributes["metadata"] is not None:
        attributes["metadata"] = {"selected": select_metadata.search(node.metadata)}
    if include_data_sources and node.data_sources is not None:
        attributes["data_sources"] = [ds.to_json() for ds in node.data_sources]
    links = links_for(api, node.structure_family, node.path, _ndim(node.structure))
    if ids_only:
        links = {"self": links["self"]}
    return {"id": node.key, "attributes": attributes, "links": links, "meta": None}


def envelope(data: Any, links: dict[str, Any] | None = None, meta: dict | None = None) -> dict:
    return {"data": data, "error": None, "links": links, "meta": meta if meta is not None else {}}
