"""What every node client has: metadata, specs, structure, data sources, updates, delete."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..structures.core import Spec, StructureFamily
from ..structures.data_source import DataSource
from .metadata import DictView, MetadataRevisions, metadata_patch, specs_patch

if TYPE_CHECKING:
    from .context import Context

__all__ = ["BaseClient", "client_for_item", "structure_client_classes"]


class BaseClient:
    """A node on the server, described by its resource document (``item``).

    Subclasses add the reading for their structure family. The document is kept as the
    server sent it; ``refresh()`` fetches it again.
    """

    def __init__(
        self,
        context: Context,
        item: dict[str, Any],
        *,
        structure_clients: str | Mapping[str, type[BaseClient]] = "numpy",
        include_data_sources: bool = False,
    ) -> None:
        self.context = context
        self._item = item
        self.structure_clients = structure_clients
        self._include_data_sources = include_data_sources

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (shared by every client reached from the same from_uri)."""
        self.context.close()

    # -- identity ------------------------------------------------------------------------

    @property
    def item(self) -> dict[str, Any]:
        """The node's resource document (a copy)."""
        return copy.deepcopy(self._item)

    @property
    def path_parts(self) -> tuple[str, ...]:
        attributes = self._item["attributes"]
        key = self._item["id"]
        ancestors = tuple(attributes.get("ancestors") or ())
        return (*ancestors, key) if key or ancestors else ()

    @property
    def path(self) -> str:
        """The node's keys joined by ``/`` (``""`` for the root)."""
        return "/".join(self.path_parts)

    @property
    def uri(self) -> str:
        return str(self._item["links"]["self"])

    @property
    def key(self) -> str:
        return str(self._item["id"])

    # -- description ---------------------------------------------------------------------

    @property
    def structure_family(self) -> StructureFamily:
        return StructureFamily(self._item["attributes"]["structure_family"])

    @property
    def metadata(self) -> DictView:
        """The node's metadata, read-only; change it with ``update_metadata``."""
        return DictView(self._item["attributes"]["metadata"] or {})

    @property
    def specs(self) -> list[Spec]:
        return [Spec.from_json(s) for s in self._item["attributes"].get("specs") or []]

    @property
    def formats(self) -> list[str]:
        """Media types the server can export this node as."""
        return list(self.context.about.get("formats", {}).get(self.structure_family.value, []))

    def structure(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no structure")

    def data_sources(self) -> list[DataSource]:
        """Where the node's data lives (files, mimetype, structure); fetched if not included."""
        sources = self._item["attributes"].get("data_sources")
        if sources is None:
            document = self.context.document(
                "GET",
                self.context.url("metadata", self.path_parts),
                params={"include_data_sources": "true"},
            )
            sources = document["data"]["attributes"].get("data_sources") or []
            self._item["attributes"]["data_sources"] = sources
        return [DataSource.from_json(s) for s in sources]

    def refresh(self) -> BaseClient:
        """Fetch the node's document again (metadata, structure) and return ``self``."""
        params = {"include_data_sources": "true"} if self._include_data_sources else None
        document = self.context.document(
            "GET", self.context.url("metadata", self.path_parts), params=params
        )
        self._item = document["data"]
        return self

    # -- changes -------------------------------------------------------------------------

    def update_metadata(
        self,
        metadata: Mapping[str, Any] | None = None,
        specs: list[Spec | str] | None = None,
        *,
        drop_revision: bool = False,
    ) -> None:
        """Set the given top-level metadata keys (others stay) and/or replace the specs.

        Sent as a JSON Patch computed from the difference, so concurrent changes to other
        keys are kept. The previous state is kept as a revision unless ``drop_revision``.
        """
        current = self._item["attributes"]["metadata"] or {}
        md_ops = metadata_patch(current, metadata) if metadata is not None else None
        spec_ops = specs_patch(self.specs, specs) if specs is not None else None
        if not md_ops and not spec_ops:
            return
        body = {
            "content-type": "application/json-patch+json",
            "metadata": md_ops or None,
            "specs": spec_ops or None,
            "access_tags": None,
        }
        response = self.context.document(
            "PATCH", self._metadata_url(), json=body, params=_revision_params(drop_revision)
        )
        if md_ops:
            merged = {**current, **copy.deepcopy(dict(metadata or {}))}
            self._item["attributes"]["metadata"] = response.get("metadata", merged)
        if spec_ops:
            self._item["attributes"]["specs"] = [Spec.from_json(s).to_json() for s in specs or []]

    def replace_metadata(
        self,
        metadata: Mapping[str, Any] | None = None,
        specs: list[Spec | str] | None = None,
        *,
        drop_revision: bool = False,
    ) -> None:
        """Replace the whole metadata and/or spec list (``None`` keeps it)."""
        spec_json = [Spec.from_json(s).to_json() for s in specs] if specs is not None else None
        body = {
            "metadata": dict(metadata) if metadata is not None else None,
            "specs": spec_json,
            "access_tags": None,
        }
        response = self.context.document(
            "PUT", self._metadata_url(), json=body, params=_revision_params(drop_revision)
        )
        if metadata is not None:
            self._item["attributes"]["metadata"] = response.get("metadata", dict(metadata))
        if spec_json is not None:
            self._item["attributes"]["specs"] = spec_json

    @property
    def metadata_revisions(self) -> MetadataRevisions:
        return MetadataRevisions(self.context, self.path_parts)

    def delete(self, recursive: bool = False, external_only: bool = True) -> None:
        """Remove this node from the catalog (files on disk are never touched).

        A container with children needs ``recursive=True`` (else ConflictError, 409).
        """
        self.context.request(
            "DELETE",
            self._metadata_url(),
            params={
                "recursive": "true" if recursive else "false",
                "external_only": "true" if external_only else "false",
            },
        )

    def _metadata_url(self) -> str:
        return self.context.url("metadata", self.path_parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r}>"


def _revision_params(drop_revision: bool) -> dict[str, str] | None:
    return {"drop_revision": "true"} if drop_revision else None


def structure_client_classes(
    structure_clients: str | Mapping[str, type[BaseClient]],
) -> Mapping[str, type[BaseClient]]:
    """The client class per structure family for ``"numpy"``, ``"dask"`` or a mapping."""
    if isinstance(structure_clients, Mapping):
        return structure_clients
    from .array import ArrayClient, DaskArrayClient
    from .container import Container
    from .table import DaskTableClient, TableClient

    if structure_clients == "numpy":
        return {"container": Container, "array": ArrayClient, "table": TableClient}
    if structure_clients == "dask":
        return {"container": Container, "array": DaskArrayClient, "table": DaskTableClient}
    raise ValueError(
        f"structure_clients must be 'numpy', 'dask' or a mapping of structure family to "
        f"client class, not {structure_clients!r}"
    )


def client_for_item(
    context: Context,
    item: dict[str, Any],
    structure_clients: str | Mapping[str, type[BaseClient]] = "numpy",
    include_data_sources: bool = False,
) -> BaseClient:
    """The right client for a resource document, chosen by its structure family."""
    family = item["attributes"]["structure_family"]
    classes = structure_client_classes(structure_clients)
    cls = classes.get(family, BaseClient)
    return cls(
        context,
        item,
        structure_clients=structure_clients,
        include_data_sources=include_data_sources,
    )
