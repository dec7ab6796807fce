"""``/search/{path}``: list, count, filter, sort and page the children of a container."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...errors import BadRequestError, InvalidQueryError, UnsupportedOperationError
from ...queries import KeyLookup, KeysFilter, Query, decode_filters
from ...structures.core import StructureFamily
from .. import auth, openapi
from ..documents import envelope, path_url, resource
from ..node_access import (
    ResolvedNode,
    adapter_of,
    catalog_of,
    in_thread,
    resolve,
    split_path,
    view_of_child,
    view_of_record,
)
from ..params import Page, bool_param, fields_of, page_of, select_metadata_of, sorting_of
from ..responses import document

router = APIRouter()


def _api(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1"


def queries_of(request: Request) -> list[Query]:
    try:
        return decode_filters(request.query_params.multi_items())
    except InvalidQueryError:
        raise
    except (ValueError, TypeError) as err:
        raise InvalidQueryError(f"Invalid filter: {err}") from err


def _page_links(
    request: Request,
    path: tuple[str, ...],
    page: Page,
    count: int,
    next_cursor: str | None = None,
    paged_by_cursor: bool = True,
) -> dict[str, Any]:
    """``self``, ``first`` and ``next`` URLs; filters and sort are not repeated (the
    client re-adds its own), and ``next`` resumes with a cursor where there is one."""
    base = f"{_api(request)}/search/{path_url(path)}"

    def url(**position: object) -> str:
        params = {**{f"page[{k}]": v for k, v in position.items()}, "page[limit]": page.limit}
        return f"{base}?{urlencode(params, safe='[]')}"

    if page.cursor is not None:
        here = url(cursor=page.cursor)
    else:
        here = url(offset=page.offset) if page.offset else url()
    if paged_by_cursor and next_cursor is not None:
        following: str | None = url(cursor=next_cursor)
    elif not paged_by_cursor and page.offset + page.limit < count and page.limit > 0:
        following = url(offset=page.offset + page.limit)
    else:
        following = None
    return {"self": here, "first": url(), "next": following}


@router.get(
    "/api/v1/search/{path:path}",
    dependencies=[Depends(auth.requires(*auth.READ_METADATA))],
    openapi_extra=openapi.declared(openapi.SEARCH),
)
async def search(request: Request, path: str) -> Response:
    node = await resolve(request, split_path(path))
    page = page_of(request)
    fields = fields_of(request)
    queries = queries_of(request)
    sorting = sorting_of(request)
    if node.is_catalog_node and not node.record.data_sources:
        views, count, following = await _search_catalog(
            request, node, queries, sorting, page, fields
        )
        links = _page_links(request, node.path, page, count, following, paged_by_cursor=bool(views))
    else:
        views, count = await _search_file(request, node, queries, sorting, page, fields)
        links = _page_links(request, node.path, page, count, paged_by_cursor=False)
    api = _api(request)
    include_ds = bool_param(request, "include_data_sources")
    selector = select_metadata_of(request)
    data = [resource(api, v, fields, include_ds, selector) for v in views]
    return document(request, envelope(data, links, {"count": count}))


async def _search_catalog(
    request: Request,
    node: ResolvedNode,
    queries: list[Query],
    sorting: list[tuple[str, int]],
    page: Page,
    fields: frozenset[str] | None,
) -> tuple[list[Any], int, str | None]:
    if node.record.structure_family != StructureFamily.container:
        raise _not_a_container(node.record.structure_family, node.path)
    catalog = catalog_of(request)
    limit = 0 if fields == frozenset({"count"}) else page.limit
    found = await catalog.page(
        node.path,
        queries=queries,
        sorting=sorting,
        limit=limit,
        offset=page.offset,
        cursor=page.cursor,
    )
    return [view_of_record(r) for r in found.records], found.count, found.next_cursor


def _not_a_container(family: StructureFamily, path: tuple[str, ...]) -> Exception:
    from ...errors import NotFoundError

    return NotFoundError(
        f"The node {'/'.join(path)!r} has structure family {family.value!r}; search needs a "
        "container"
    )


async def _search_file(
    request: Request,
    node: ResolvedNode,
    queries: list[Query],
    sorting: list[tuple[str, int]],
    page: Page,
    fields: frozenset[str] | None,
) -> tuple[list[Any], int]:
    """Children of a container inside a file: keys from the adapter, filtered by key only."""
    adapter = await adapter_of(request, node)
    if getattr(adapter, "structure_family", None) != StructureFamily.container:
        raise _not_a_container(StructureFamily(adapter.structure_family), node.path)
    keys: list[str] = await in_thread(request, adapter.keys)
    if page.cursor is not None:
        raise BadRequestError(
            "page[cursor] is not used inside files; page with page[offset] instead"
        )
    for query in queries:
        if isinstance(query, KeyLookup):
            keys = [k for k in keys if k == query.key]
        elif isinstance(query, KeysFilter):
            wanted = set(query.keys)
            keys = [k for k in keys if k in wanted]
        else:
            raise BadRequestError(
                f"The query type {type(query).__name__!r} is not supported on this node, "
                "which lives inside a file"
            )
    for key, direction in reversed(sorting):
        if key:
            raise UnsupportedOperationError(
                "Nodes inside a file can only be sorted in their default order"
            )
        if direction < 0:
            keys.reverse()
    count = len(keys)
    if fields == frozenset({"count"}) or page.limit == 0:
        return [], count
    selected = keys[page.offset : page.offset + page.limit]

    def views() -> list[Any]:
        return [view_of_child(node.path, adapter, key) for key in selected]

    return await in_thread(request, views), count
