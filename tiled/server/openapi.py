"""Query parameters as the OpenAPI document declares them.

The routes parse their query strings themselves (``params.py``: bracketed names such as
``page[offset]``, ``filter[...]`` families, Tiled's exact error shapes), so FastAPI
cannot infer them; these declarations only describe them, through each route's
``openapi_extra``, and change nothing about how a request is parsed or answered.
"""

from __future__ import annotations

from typing import Any

from ..media_types import aliases, formats
from ..queries import QUERY_TYPES
from .documents import ALL_FIELDS
from .params import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, SLICE_PATTERN


def _query(
    name: str, description: str, schema: dict[str, Any], required: bool = False, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
        **extra,
    }


def _repeated(name: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    return _query(name, description, {"type": "array", "items": items}, explode=True)


def _boolean(name: str, description: str) -> dict[str, Any]:
    return _query(name, description, {"type": "boolean", "default": False})


def _format(family: str) -> dict[str, Any]:
    names = sorted({*formats()[family], *(a for v in aliases()[family].values() for a in v)})
    return _query(
        "format",
        "A media type or alias for the response; overrides the Accept header "
        f"(default for {family}: {formats()[family][0]})",
        {"type": "string", "enum": names},
    )


FILENAME = _query(
    "filename",
    "Send the body as an attachment with this file name (Content-Disposition)",
    {"type": "string"},
)
SLICE = _query(
    "slice",
    "numpy basic indexing, one comma-separated item per dimension: an integer or "
    "start:stop:step (each part optional); missing trailing dimensions are whole",
    {"type": "string", "pattern": SLICE_PATTERN},
    example="0,1:3,::2",
)
EXPECTED_SHAPE = _query(
    "expected_shape",
    "The shape the client will reshape the result into (n,n,... or 'scalar'); a mismatch is a 400",
    {"type": "string", "pattern": r"^(scalar|\d+(,\d+)*)$"},
)
BLOCK = _query(
    "block",
    "The block's index along each dimension, comma-separated (empty for a 0-d array)",
    {"type": "string", "pattern": r"^(\d+(,\d+)*)?$"},
    required=True,
)
PARTITION = _query("partition", "The partition's index", {"type": "integer", "minimum": 0}, True)
COLUMN = _repeated(
    "column", "A column to include (repeat for several; default all)", {"type": "string"}
)
FIELD = _repeated(
    "field",
    "Tables: the former name of column. Containers: a child to include (repeat; default all)",
    {"type": "string"},
)
PAGE_OFFSET = _query(
    "page[offset]", "Index of the first item of the page", {"type": "integer", "minimum": 0}
)
PAGE_LIMIT = _query(
    "page[limit]",
    "Items per page",
    {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_LIMIT, "default": DEFAULT_PAGE_LIMIT},
)
PAGE_CURSOR = _query(
    "page[cursor]",
    "Resume after the previous page: the opaque value from its links.next (not with page[offset])",
    {"type": "string"},
)
FIELDS = _repeated(
    "fields",
    "Attributes to include (repeat; default all; one empty value means ids only)",
    {"type": "string", "enum": ["", *sorted(ALL_FIELDS)]},
)
SORT = _query(
    "sort",
    "Comma-separated dotted metadata keys, each optionally prefixed with '-' for "
    "descending; '' is the default (insertion) order",
    {"type": "string"},
    example="sample.temperature,-i",
)
FILTER = _query(
    "filter",
    "Queries, as filter[<type>][condition][<field>]=<value> parameters; the i-th value of "
    "each field forms the i-th query of that type; values of JSON-typed fields are JSON. "
    f"Types: {', '.join(sorted(QUERY_TYPES))}",
    {"type": "object", "additionalProperties": True},
    style="deepObject",
    explode=True,
    example={"eq": {"condition": {"key": "color", "value": '"red"'}}},
)
INCLUDE_DATA_SOURCES = _boolean("include_data_sources", "Include each node's data sources")
SELECT_METADATA = _query(
    "select_metadata",
    "A JMESPath expression; the metadata becomes {'selected': <its result>}",
    {"type": "string"},
)

COLUMNS_BODY = "The columns to include, for lists too long for a URL (overrides column=)"
FIELDS_BODY = "The children to include, for lists too long for a URL (overrides field=)"

ARRAY_FULL = [SLICE, EXPECTED_SHAPE, _format("array"), FILENAME]
ARRAY_BLOCK = [BLOCK, SLICE, EXPECTED_SHAPE, _format("array"), FILENAME]
TABLE_FULL = [COLUMN, FIELD, _format("table"), FILENAME]
TABLE_PARTITION = [PARTITION, *TABLE_FULL]
CONTAINER_FULL = [FIELD, _format("container"), FILENAME]
NODE = [
    FIELDS,
    INCLUDE_DATA_SOURCES,
    SELECT_METADATA,
    _boolean("root_path", "Report the server's root path in meta.root_path"),
]
SEARCH = [
    PAGE_OFFSET,
    PAGE_LIMIT,
    PAGE_CURSOR,
    FIELDS,
    SORT,
    FILTER,
    INCLUDE_DATA_SOURCES,
    SELECT_METADATA,
]
DISTINCT = [
    _repeated(
        "metadata", "A dotted metadata key whose values to list (repeat)", {"type": "string"}
    ),
    _boolean("structure_families", "List the distinct structure families"),
    _boolean("specs", "List the distinct lists of specs"),
    _boolean("counts", "Count the nodes having each value"),
    FILTER,
]
REVISIONS = [PAGE_OFFSET, PAGE_LIMIT]
UPDATE = [_boolean("drop_revision", "Do not keep the previous metadata as a revision")]
DELETE = [_boolean("recursive", "Also delete everything below the node")]


def declared(parameters: list[dict[str, Any]], names_in_body: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route whose query parameters are ``parameters``;
    ``names_in_body`` describes an optional JSON list of names as the request body."""
    extra: dict[str, Any] = {"parameters": parameters}
    if names_in_body:
        schema = {"type": "array", "items": {"type": "string"}}
        extra["requestBody"] = {
            "required": False,
            "description": names_in_body,
            "content": {"application/json": {"schema": schema}},
        }
    return extra
