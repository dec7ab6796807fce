"""Query objects shared by client and server, with their ``filter[...]`` wire encoding.

Each query type has a wire ``name``; each field travels as
``filter[<name>][condition][<field>]=<text>``. Fields marked JSON carry JSON text
(``value="red"``), the others raw text (``spec/http-api.md`` §7.4).

>>> from tiled.queries import Key
>>> (Key("sample.temperature") > 300).encode()
{'operator': 'gt', 'key': 'sample.temperature', 'value': '300'}

Values are checked when a query is built, so a malformed query fails before it reaches a
database: ``InvalidQueryError`` names the query, the field and what is expected.
Semantics (missing keys, mixed types, sorting) are in ``docs/search.md``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from .errors import InvalidQueryError

__all__ = [
    "QUERY_TYPES",
    "AccessTagsFilter",
    "Comparison",
    "Contains",
    "Eq",
    "FullText",
    "In",
    "Key",
    "KeyLookup",
    "KeyPresent",
    "KeysFilter",
    "Like",
    "NotEq",
    "NotIn",
    "Query",
    "Regex",
    "Spec",
    "Specs",
    "SpecsQuery",
    "StructureFamilyQuery",
    "decode_filters",
    "encode_query",
]

_WORD = re.compile(r"[^\W_]+")
_RAW = "raw"
_JSON = "json"
_BOOL = "bool"


class Query:
    """Base of every query type: ``name`` on the wire and how each field is encoded."""

    name: ClassVar[str]
    encodings: ClassVar[dict[str, str]]

    def encode(self) -> dict[str, str]:
        encoded = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            how = self.encodings[f.name]
            if how == _JSON:
                encoded[f.name] = json.dumps(value)
            elif how == _BOOL:
                encoded[f.name] = "true" if value else "false"
            else:
                encoded[f.name] = str(value)
        return encoded

    @classmethod
    def decode(cls, params: dict[str, str]) -> Query:
        """Build the query from its wire fields; InvalidQueryError names the bad field."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name not in params:
                if f.default is not MISSING or f.default_factory is not MISSING:
                    continue
                raise InvalidQueryError(f"Query {cls.name!r} is missing its field {f.name!r}")
            kwargs[f.name] = _decode_field(cls.name, f.name, params[f.name], cls.encodings[f.name])
        unknown = set(params) - set(kwargs) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
        if unknown:
            raise InvalidQueryError(f"Query {cls.name!r} has no field(s) {sorted(unknown)}")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as err:
            raise InvalidQueryError(f"Invalid {cls.name!r} query: {err}") from err


def _decode_field(query: str, name: str, text: str, how: str) -> Any:
    if how == _JSON:
        try:
            return json.loads(text)
        except ValueError as err:
            raise InvalidQueryError(
                f"Field {name!r} of query {query!r} must be JSON (strings in double quotes), "
                f"got {text!r}"
            ) from err
    if how == _BOOL:
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise InvalidQueryError(f"Field {name!r} of query {query!r} must be true or false")
        return lowered in ("true", "1")
    return text


QUERY_TYPES: dict[str, type[Query]] = {}


def _register(cls: type[Query]) -> type[Query]:
    QUERY_TYPES[cls.name] = cls
    return cls


@_register
@dataclass(frozen=True)
class FullText(Query):
    """Whole-word match anywhere in the string values of the metadata."""

    text: str
    name: ClassVar[str] = "fulltext"
    encodings: ClassVar[dict[str, str]] = {"text": _RAW}

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.words:
            raise ValueError(
                f"text must contain at least one word (letters or digits), not {self.text!r}"
            )

    @property
    def words(self) -> list[str]:
        """Lower-cased runs of letters and digits: what must all appear in the metadata."""
        return _WORD.findall(self.text.lower()) if isinstance(self.text, str) else []


@_register
@dataclass(frozen=True)
class KeyLookup(Query):
    """The child with exactly this key."""

    key: str
    name: ClassVar[str] = "lookup"
    encodings: ClassVar[dict[str, str]] = {"key": _RAW}


@_register
@dataclass(frozen=True)
class KeysFilter(Query):
    """Children whose key is one of ``keys``."""

    keys: list[str]
    name: ClassVar[str] = "keys_filter"
    encodings: ClassVar[dict[str, str]] = {"keys": _JSON}

    def __post_init__(self) -> None:
        if not isinstance(self.keys, list | tuple) or not all(
            isinstance(k, str) for k in self.keys
        ):
            raise ValueError("keys must be a list of strings")
        object.__setattr__(self, "keys", list(self.keys))


@dataclass(frozen=True)
class _KeyValue(Query):
    key: str
    value: Any
    encodings: ClassVar[dict[str, str]] = {"key": _RAW, "value": _JSON}

    def __post_init__(self) -> None:
        _check_key(self.key)
        _check_json(self.value)


@_register
@dataclass(frozen=True)
class Eq(_KeyValue):
    """Metadata at the dotted ``key`` equals ``value``."""

    name: ClassVar[str] = "eq"


@_register
@dataclass(frozen=True)
class NotEq(_KeyValue):
    """Metadata at ``key`` differs from ``value`` (nodes lacking the key match)."""

    name: ClassVar[str] = "noteq"


@_register
@dataclass(frozen=True)
class Contains(_KeyValue):
    """Metadata at ``key`` is a list containing ``value``."""

    name: ClassVar[str] = "contains"


@_register
@dataclass(frozen=True)
class In(_KeyValue):
    """Metadata at ``key`` is one of the values in the list ``value``."""

    name: ClassVar[str] = "in"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.value, list | tuple):
            raise ValueError("value must be a list")
        object.__setattr__(self, "value", list(self.value))


@_register
@dataclass(frozen=True)
class NotIn(In):
    """Metadata at ``key`` is none of the values in ``value`` (nodes lacking it match)."""

    name: ClassVar[str] = "notin"


_OPERATORS = ("lt", "le", "gt", "ge")


@_register
@dataclass(frozen=True)
class Comparison(Query):
    """Ordered comparison (``lt``, ``le``, ``gt``, ``ge``) of the metadata at ``key``."""

    operator: str
    key: str
    value: Any
    name: ClassVar[str] = "comparison"
    encodings: ClassVar[dict[str, str]] = {"operator": _RAW, "key": _RAW, "value": _JSON}

    def __post_init__(self) -> None:
        _check_key(self.key)
        if self.operator not in _OPERATORS:
            raise ValueError(f"operator must be one of {list(_OPERATORS)}, not {self.operator!r}")
        if isinstance(self.value, bool) or not isinstance(self.value, int | float | str):
            raise ValueError("Comparison needs a number or a string to compare with")
        _check_json(self.value)


@_register
@dataclass(frozen=True)
class KeyPresent(Query):
    """The dotted ``key`` exists (or, with ``exists=False``, does not) in the metadata."""

    key: str
    exists: bool = True
    name: ClassVar[str] = "keypresent"
    encodings: ClassVar[dict[str, str]] = {"key": _RAW, "exists": _BOOL}

    def __post_init__(self) -> None:
        _check_key(self.key)


@_register
@dataclass(frozen=True)
class Like(Query):
    """SQL LIKE pattern (``%`` any run, ``_`` one character) on the string at ``key``."""

    key: str
    pattern: str
    name: ClassVar[str] = "like"
    encodings: ClassVar[dict[str, str]] = {"key": _RAW, "pattern": _JSON}

    def __post_init__(self) -> None:
        _check_key(self.key)
        if not isinstance(self.pattern, str):
            raise ValueError("pattern must be a string")
        if re.search(r"(?<!\\)(?:\\\\)*\\$", self.pattern):
            raise ValueError(
                f"pattern {self.pattern!r} ends with a lone backslash; a backslash escapes "
                "the next character (\\% for a literal %)"
            )


@_register
@dataclass(frozen=True)
class Regex(Query):
    """Regular-expression search in the string at ``key``."""

    key: str
    pattern: str
    case_sensitive: bool = True
    name: ClassVar[str] = "regex"
    encodings: ClassVar[dict[str, str]] = {"key": _RAW, "pattern": _RAW, "case_sensitive": _BOOL}

    def __post_init__(self) -> None:
        _check_key(self.key)
        try:
            re.compile(self.pattern)
        except re.error as err:
            raise ValueError(f"pattern {self.pattern!r} does not compile: {err}") from err


@_register
@dataclass(frozen=True)
class SpecsQuery(Query):
    """Nodes having every spec in ``include`` and none in ``exclude`` (names only)."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    name: ClassVar[str] = "specs"
    encodings: ClassVar[dict[str, str]] = {"include": _JSON, "exclude": _JSON}

    def __post_init__(self) -> None:
        for part in ("include", "exclude"):
            value = getattr(self, part)
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{part} must be a list of spec names")
            object.__setattr__(self, part, list(value))


def Specs(include: Iterable[str], exclude: Iterable[str] = ()) -> SpecsQuery:
    return SpecsQuery(list(include), list(exclude))


def Spec(name: str) -> SpecsQuery:
    return SpecsQuery([name], [])


@_register
@dataclass(frozen=True)
class StructureFamilyQuery(Query):
    """Nodes of one structure family (``array``, ``table``, ``container``...)."""

    value: str
    name: ClassVar[str] = "structure_family"
    encodings: ClassVar[dict[str, str]] = {"value": _RAW}

    def __post_init__(self) -> None:
        from .structures.core import StructureFamily

        try:
            family = StructureFamily(str(self.value))
        except ValueError:
            choices = sorted(f.value for f in StructureFamily)
            raise ValueError(
                f"{self.value!r} is not a structure family; choose from {choices}"
            ) from None
        object.__setattr__(self, "value", family.value)


@_register
@dataclass(frozen=True)
class AccessTagsFilter(Query):
    """Accepted for compatibility; single-user servers have no access tags to filter on."""

    tags: list[str] = field(default_factory=list)
    name: ClassVar[str] = "access_tags_filter"
    encodings: ClassVar[dict[str, str]] = {"tags": _JSON}


def _check_json(value: Any) -> None:
    """JSON has no NaN or Infinity, and no database can store or compare them."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a JSON number")
    if isinstance(value, list | tuple):
        for item in value:
            _check_json(item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_json(item)


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key or any(part == "" for part in key.split(".")):
        raise ValueError(f"key must be a dotted path like 'sample.name', not {key!r}")


class Key:
    """Builds queries with operators: ``Key("color") == "red"``, ``Key("i") > 3``."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __eq__(self, value: object) -> Eq:  # type: ignore[override]
        return Eq(self.key, value)

    def __ne__(self, value: object) -> NotEq:  # type: ignore[override]
        return NotEq(self.key, value)

    def __lt__(self, value: Any) -> Comparison:
        return Comparison("lt", self.key, value)

    def __le__(self, value: Any) -> Comparison:
        return Comparison("le", self.key, value)

    def __gt__(self, value: Any) -> Comparison:
        return Comparison("gt", self.key, value)

    def __ge__(self, value: Any) -> Comparison:
        return Comparison("ge", self.key, value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Key({self.key!r})"


def encode_query(query: Query) -> list[tuple[str, str]]:
    """The ``(param, value)`` pairs that carry ``query`` in a URL."""
    return [(f"filter[{query.name}][condition][{k}]", v) for k, v in query.encode().items()]


_FILTER_PARAM = re.compile(r"^filter\[([^\]]+)\]\[condition\]\[([^\]]+)\]$")


def decode_filters(params: Iterable[tuple[str, str]]) -> list[Query]:
    """Rebuild queries from URL parameters; the i-th value of each field forms query i.

    Unlike Tiled, which ignores filter names it does not know (answering 200 with
    unfiltered results), an unknown or malformed filter is an error here: silently
    widening a search is worse than refusing it (see ``docs/search.md``).
    """
    grouped: dict[str, dict[str, list[str]]] = {}
    for name, value in params:
        if not name.startswith("filter["):
            continue
        match = _FILTER_PARAM.match(name)
        if match is None:
            raise InvalidQueryError(
                f"Malformed filter parameter {name!r}; expected filter[<query>][condition][<field>]"
            )
        query_name, field_name = match.groups()
        if query_name not in QUERY_TYPES:
            raise InvalidQueryError(
                f"Unknown query type {query_name!r}; this server supports {sorted(QUERY_TYPES)}"
            )
        grouped.setdefault(query_name, {}).setdefault(field_name, []).append(value)
    queries: list[Query] = []
    for query_name, by_field in grouped.items():
        cls = QUERY_TYPES[query_name]
        count = max(len(v) for v in by_field.values())
        for i in range(count):
            queries.append(cls.decode({f: v[i] for f, v in by_field.items() if i < len(v)}))
    return queries
