"""Containers: read-only mappings of their children, searchable and sortable, plus the
calls that add (``new``, ``create_container``) and remove (``delete_contents``) children."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from ..queries import KeyLookup, Query, encode_query
from ..structures.container import ContainerStructure
from ..structures.core import Spec, StructureFamily
from ..structures.data_source import DataSource
from .base import BaseClient, client_for_item
from .export import export_to
from .listing import ItemsView, KeysView, ValuesView

__all__ = ["Container"]

PAGE_LIMIT = 100  # per search request (the server allows up to 300)
_REPR_KEYS = 10


class Container(BaseClient, Mapping[str, BaseClient]):
    """A container node: ``c["a"]``, ``c["a/b"]``, ``c["a", "b"]``, ``len(c)``, ``list(c)``.

    ``search`` and ``sort`` return new views of the same container; nothing is fetched
    until it is used, and listings are fetched one page at a time.
    """

    def __init__(
        self,
        context: Any,
        item: dict[str, Any],
        *,
        queries: Sequence[Query] = (),
        sorting: Sequence[tuple[str, int]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(context, item, **kwargs)
        self._queries = tuple(queries)
        self._sorting = tuple(sorting)

    # Mapping would compare every child over the network; identity is what makes sense.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def structure(self) -> ContainerStructure:
        return ContainerStructure.from_json(self._item["attributes"]["structure"] or {})

    # -- views ---------------------------------------------------------------------------

    def _view(
        self,
        queries: Sequence[Query] | None = None,
        sorting: Sequence[tuple[str, int]] | None = None,
    ) -> Container:
        return type(self)(
            self.context,
            self._item,
            queries=self._queries if queries is None else queries,
            sorting=self._sorting if sorting is None else sorting,
            structure_clients=self.structure_clients,
            include_data_sources=self._include_data_sources,
        )

    def search(self, query: Query) -> Container:
        """Children matching ``query`` (and any earlier searches), as a new view.

        >>> from tiled.queries import Key
        >>> hot = client.search(Key("temperature") > 300).search(Key("sample") == "Ni")
        """
        if not isinstance(query, Query):
            raise TypeError(
                f"search() takes a query from tiled.queries (e.g. Key('x') == 1), not {query!r}"
            )
        return self._view(queries=(*self._queries, query))

    def sort(self, *sorting: tuple[str, int]) -> Container:
        """Order children by metadata keys: ``c.sort(("temperature", -1), ("sample", 1))``."""
        checked = []
        for entry in sorting:
            if not (isinstance(entry, tuple) and len(entry) == 2 and entry[1] in (1, -1)):
                raise ValueError(f"Each sort entry is (key, 1) or (key, -1), not {entry!r}")
            checked.append((str(entry[0]), int(entry[1])))
        return self._view(sorting=checked)

    def distinct(
        self,
        *metadata_keys: str,
        structure_families: bool = False,
        specs: bool = False,
        counts: bool = False,
    ) -> dict[str, Any]:
        """The distinct values of metadata keys (and families, specs) among the children."""
        params: list[tuple[str, str]] = [("metadata", k) for k in metadata_keys]
        params += [
            ("structure_families", _bool(structure_families)),
            ("specs", _bool(specs)),
            ("counts", _bool(counts)),
            *self._filter_params(),
        ]
        result: dict[str, Any] = self.context.document(
            "GET", self.context.url("distinct", self.path_parts), params=params
        )
        return result

    def keys(self) -> KeysView:  # type: ignore[override]
        return KeysView(self)

    def values(self) -> ValuesView:  # type: ignore[override]
        return ValuesView(self)

    def items(self) -> ItemsView:  # type: ignore[override]
        return ItemsView(self)

    # -- mapping -------------------------------------------------------------------------

    def __len__(self) -> int:
        document = self.context.document(
            "GET", self._search_url, params=[("fields", "count"), *self._filter_params()]
        )
        return int(document["meta"]["count"])

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str | tuple):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __getitem__(self, key: str | tuple[str, ...]) -> BaseClient:
        parts = _split_key(key)
        if self._queries:
            item = self._lookup_in_search(parts[0])
            if len(parts) == 1:
                return self._client_for(item)
        # A missing node is a 404, raised as ClientNotFoundError, which is a KeyError.
        document = self.context.document(
            "GET", self.context.url("metadata", (*self.path_parts, *parts)), params=self._ds()
        )
        return self._client_for(document["data"])

    def _lookup_in_search(self, key: str) -> dict[str, Any]:
        params = [*self._filter_params(KeyLookup(key)), *self._ds_items()]
        document = self.context.document("GET", self._search_url, params=params)
        if not document["data"]:
            raise KeyError(f"No node {key!r} among the search results of {self.path!r}")
        item: dict[str, Any] = document["data"][0]
        return item

    # -- paging (used by the listing views) ----------------------------------------------

    @property
    def _search_url(self) -> str:
        return str(self._item["links"].get("search") or self.context.url("search", self.path_parts))

    @property
    def _reversible(self) -> bool:
        """True when ``sort=-`` lists exactly the reverse order (default order only)."""
        return all(key == "" for key, _ in self._sorting)

    def _filter_params(self, *extra: Query) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        for query in (*self._queries, *extra):
            params += encode_query(query)
        params += [("sort", key if d > 0 else f"-{key}") for key, d in self._sorting]
        return params

    def _resources(
        self,
        offset: int,
        limit: int | None,
        fields: tuple[str, ...] | None,
        reverse: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Yield up to ``limit`` child documents from ``offset``, following ``links.next``."""
        own = self._filter_params()
        if reverse:
            direction = -1 if all(d > 0 for _, d in self._sorting) else 1
            own = [p for p in own if p[0] != "sort"] + [("sort", "-" if direction < 0 else "")]
        own += [("fields", f) for f in fields or ()] + self._ds_items()
        remaining = limit
        url = self._search_url
        page: list[tuple[str, str]] = [("page[offset]", str(offset))]
        while remaining is None or remaining > 0:
            size = PAGE_LIMIT if remaining is None else min(remaining, PAGE_LIMIT)
            page = [p for p in page if p[0] != "page[limit]"] + [("page[limit]", str(size))]
            document = self.context.document("GET", url, params=page + own)
            data = document["data"]
            yield from data if remaining is None else data[:remaining]
            if remaining is not None:
                remaining -= len(data)
            following = (document.get("links") or {}).get("next")
            if not following or not data:
                return
            next_url = httpx.URL(following)
            page = [p for p in next_url.params.multi_items() if p[0].startswith("page[")]
            url = str(next_url.copy_with(query=None))

    def _ds(self) -> dict[str, str] | None:
        return {"include_data_sources": "true"} if self._include_data_sources else None

    def _ds_items(self) -> list[tuple[str, str]]:
        return [("include_data_sources", "true")] if self._include_data_sources else []

    def _client_for(self, item: dict[str, Any]) -> BaseClient:
        return client_for_item(
            self.context, item, self.structure_clients, self._include_data_sources
        )

    def __repr__(self) -> str:
        params = [("page[offset]", "0"), ("page[limit]", str(_REPR_KEYS)), ("fields", "")]
        document = self.context.document(
            "GET", self._search_url, params=params + self._filter_params()
        )
        keys = [item["id"] for item in document["data"]]
        count = int(document["meta"]["count"])
        shown = ", ".join(repr(k) for k in keys)
        if count > len(keys):
            return f"<{type(self).__name__} {{{shown}, ...}} ~{count} entries>"
        return f"<{type(self).__name__} {{{shown}}}>"

    # -- writing -------------------------------------------------------------------------

    def new(
        self,
        structure_family: StructureFamily | str,
        data_sources: Sequence[DataSource],
        *,
        key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        specs: Iterable[Spec | str] | None = None,
    ) -> BaseClient:
        """Add a child node; returns its client.

        Data sources with assets (external files) are registered (``POST /register``):
        the server checks every file lies inside its readable directories. Without
        assets the node is created (``POST /metadata``), e.g. a container. ``key=None``
        lets the server choose a key. A taken key raises ConflictError (409).
        """
        family = StructureFamily(structure_family)
        sources = [
            s if isinstance(s, DataSource) else DataSource.from_json(s) for s in data_sources
        ]
        spec_list = [Spec.from_json(s) for s in specs or ()]
        body = {
            "id": key,
            "structure_family": family.value,
            "metadata": dict(metadata or {}),
            "specs": [s.to_json() for s in spec_list],
            "data_sources": [s.to_json() for s in sources],
            "access_tags": None,
        }
        route = "register" if any(s.assets for s in sources) else "metadata"
        created = self.context.document("POST", self.context.url(route, self.path_parts), json=body)
        if family == StructureFamily.container and sources:
            # Children of a registered file are discovered by the server; ask for them.
            return self[created["id"]]
        item = _created_item(self.path_parts, family, body, sources, created)
        return self._client_for(item)

    def create_container(
        self,
        key: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        specs: Iterable[Spec | str] | None = None,
    ) -> Container:
        """Add an empty child container; returns it."""
        child = self.new(StructureFamily.container, [], key=key, metadata=metadata, specs=specs)
        assert isinstance(child, Container)
        return child

    def export(
        self,
        filename_or_buffer: Any,
        *,
        format: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> None:
        """Write everything below this container in one file: HDF5 (``"h5"``: groups,
        datasets and attributes, the default of ``.h5`` names) or ``"json"`` (the tree of
        metadata). ``fields`` keeps only these children. The server refuses exports over
        its size limits with a message that states them."""
        params = [("field", f) for f in fields or ()]
        export_to(self, self._item["links"]["full"], filename_or_buffer, format, params)

    def delete_contents(
        self,
        keys: str | Iterable[str] | None = None,
        recursive: bool = False,
        external_only: bool = True,
    ) -> None:
        """Delete the children named by ``keys`` (all of this view's children if None).

        Containers with children need ``recursive=True``; files are never touched.
        """
        chosen = list(self) if keys is None else [keys] if isinstance(keys, str) else list(keys)
        params = {"recursive": _bool(recursive), "external_only": _bool(external_only)}
        for key in chosen:
            self.context.request(
                "DELETE", self.context.url("metadata", (*self.path_parts, key)), params=params
            )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _split_key(key: str | tuple[str, ...]) -> tuple[str, ...]:
    raw = key if isinstance(key, tuple) else (key,)
    parts: list[str] = []
    for part in raw:
        if not isinstance(part, str):
            raise TypeError(f"Container keys are strings, not {type(part).__name__} ({part!r})")
        parts += [p for p in part.split("/") if p]
    if not parts:
        raise KeyError(f"An empty key {key!r} names no child")
    return tuple(parts)


def _created_item(
    parent: tuple[str, ...],
    family: StructureFamily,
    body: dict[str, Any],
    sources: Sequence[DataSource],
    created: dict[str, Any],
) -> dict[str, Any]:
    """The new node's document, from what we sent and what the server answered."""
    if family == StructureFamily.container:
        structure: Any = {"contents": None, "count": 0}
    else:
        first = sources[0].structure if sources else None
        structure = first.to_json() if first is not None else None
    return {
        "id": created["id"],
        "attributes": {
            "ancestors": list(parent),
            "structure_family": family.value,
            "specs": body["specs"],
            "metadata": created.get("metadata", body["metadata"]),
            "structure": structure,
            "access_tags": created.get("access_tags"),
            "sorting": [{"key": "", "direction": 1}]
            if family == StructureFamily.container
            else None,
            "data_sources": created.get("data_sources"),
        },
        "links": created["links"],
        "meta": None,
    }
