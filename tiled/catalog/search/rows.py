"""The search rows of one node computed in Python, exactly as SQLite's triggers do.

The bulk writer on SQLite maintains ``metadata_index``, ``nodes_fts``, ``node_counts``
and ``key_counts`` itself (``search/bulk_sqlite.py``): computing a node's rows here and
inserting a batch's rows in a few executemany costs a third of the triggers' nested
``json_each`` calls, which re-parse the metadata text once per depth and kind. Every
other writer still goes through the triggers, and rows written either way are the same
(``tests/catalog/test_search_rows.py`` compares the tables byte for byte), so that a
trigger later removes bulk-written rows exactly.

What must match the SQL of migration 0002:

* values reachable through objects up to ``DEPTH`` levels, paths escaped and at most
  ``MAX_PATH`` characters; scalar array elements under the path + ``ELEMENTS``; spec
  names under ``SPEC_PATH``; duplicates collapse (``INSERT OR IGNORE`` plays DISTINCT);
* numbers: the JSON text of the number is bound, and the column's NUMERIC affinity
  converts it with the same routine that ``json_each`` uses to read it, so floats and
  integers beyond 64 bits are stored identically (binding a Python float instead could
  differ in the last bit);
* the full-text document: string values in document order, joined by one space,
  truncated to ``MAX_DOCUMENT`` characters (contentless FTS5 deletes need the exact
  tokens and positions inserted).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .index import (
    ARRAY,
    DEPTH,
    ELEMENT,
    ELEMENTS,
    FALSE,
    MAX_PATH,
    NULL,
    NUMBER,
    OBJECT,
    PREFIX,
    SPEC_PATH,
    STRING,
    TRUE,
    escape,
)

MAX_DOCUMENT = 262144  # characters of metadata text indexed for full-text search
_INT64 = (-(2**63), 2**63 - 1)

Row = tuple[str, int, Any, str]  # path, rank, num, txt (parent and node ids added later)


def _read(text: str) -> str:
    """A JSON string (key or value) as SQLite's JSON functions read it: up to its first
    NUL character."""
    return text if "\x00" not in text else text[: text.index("\x00")]


class NumberText(str):
    """A number as its JSON text, from :func:`parse_stored`: bound as text, converted by
    the column's affinity like ``json_each`` reads it."""


def _number(value: int | float) -> int | str:
    if isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            return int(value)
        return int.__repr__(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a JSON number; metadata cannot hold it")
    return float.__repr__(value)


def _scalar(value: Any, base: int) -> tuple[int, Any, str]:
    if value is None:
        return base + NULL, 0, ""
    if value is True:
        return base + TRUE, 0, ""
    if value is False:
        return base + FALSE, 0, ""
    if isinstance(value, NumberText):
        return base + NUMBER, str(value), ""
    if isinstance(value, str):
        return base + STRING, 0, _read(value)[:PREFIX]
    if isinstance(value, int | float):
        return base + NUMBER, _number(value), ""
    if isinstance(value, list | tuple):
        return base + ARRAY, 0, ""
    if isinstance(value, Mapping):
        return base + OBJECT, 0, ""
    raise TypeError(f"{type(value).__name__} is not JSON; metadata cannot hold it")


class NotPlainJSON(Exception):
    """A key that is not a string: ``json.dumps`` would write it differently."""


def _key_path(prefix: str, key: Any, depth: int) -> str:
    if type(key) is not str:
        raise NotPlainJSON(key)
    if "\x00" in key:
        key = _read(key)
    if "." in key or "\\" in key:
        key = escape(key)
    return key if depth == 1 else f"{prefix}.{key}"


def _row(path: str, value: Any, base: int) -> Row:
    """The row of a scalar, array or object: exact types first (the common case)."""
    kind = type(value)
    if kind is str:
        return (path, base + STRING, 0, (value if "\x00" not in value else _read(value))[:PREFIX])
    if kind is int and _INT64[0] <= value <= _INT64[1]:
        return (path, base + NUMBER, value, "")
    if kind is list:
        return (path, base + ARRAY, 0, "")
    if kind is dict:
        return (path, base + OBJECT, 0, "")
    return (path, *_scalar(value, base))


def _walk(
    obj: Mapping[str, Any],
    prefix: str,
    depth: int,
    rows: set[Row],
    paths: list[str],
    strings: list[str],
) -> None:
    """Rows and key paths down to ``DEPTH``, and every string value, in document order."""
    for key, value in obj.items():
        path = _key_path(prefix, key, depth)
        fits = len(path) <= MAX_PATH
        if fits:
            rows.add(_row(path, value, 0))
            paths.append(path)
        if isinstance(value, str):
            if not isinstance(value, NumberText):
                strings.append(value if "\x00" not in value else _read(value))
        elif isinstance(value, Mapping):
            if depth < DEPTH:
                _walk(value, path, depth + 1, rows, paths, strings)
            else:
                _strings(value, strings)
        elif isinstance(value, list | tuple):
            elements = path + ELEMENTS
            if fits and len(elements) <= MAX_PATH:
                for item in value:
                    if not isinstance(item, list | tuple | Mapping):
                        rows.add(_row(elements, item, ELEMENT))
            _strings(value, strings)


def index_rows(
    metadata: Mapping[str, Any], specs: Sequence[Any]
) -> tuple[set[Row], list[str], str]:
    """The node's ``metadata_index`` rows, its key paths (for ``key_counts``) and its
    full-text document (string values in document order).

    Raises NotPlainJSON for a key that is not a string (normalise the metadata through
    JSON first), ValueError for NaN, infinity or a lone surrogate, TypeError for what
    is not JSON.
    """
    rows: set[Row] = set()
    paths: list[str] = []
    strings: list[str] = []
    _walk(metadata, "", 1, rows, paths, strings)
    for spec in specs:
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if isinstance(name, str):
            rows.add((SPEC_PATH, ELEMENT + STRING, 0, _read(name)[:PREFIX]))
            _encodable(name)
    _encodable("".join(paths))
    document = " ".join(strings)
    _encodable(document)  # every string value, whole: the index rows hold prefixes
    return rows, paths, document[:MAX_DOCUMENT]


def _encodable(text: str) -> None:
    """SQLite stores UTF-8: a lone surrogate (which ``"\\ud800"`` in JSON can make) has
    none, and JSON with one is refused by PostgreSQL too."""
    try:
        text.encode()
    except UnicodeEncodeError as err:
        bad = err.object[err.start : err.end]
        raise ValueError(f"it holds {bad!r}, which is not a Unicode character") from None


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if not isinstance(value, NumberText):
            out.append(_read(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, out)


def parse_stored(text: str) -> Any:
    """Stored metadata JSON, numbers kept as their text (see :class:`NumberText`)."""
    return json.loads(text, parse_int=NumberText, parse_float=NumberText)
