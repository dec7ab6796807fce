"""What a driver script reported, decoded for assertions in the test process."""

from __future__ import annotations

from typing import Any

import numpy
import pandas


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__npy__"}:
            return numpy.load(value["__npy__"], allow_pickle=False)
        if set(value) == {"__parquet__"}:
            return pandas.read_parquet(value["__parquet__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class Results:
    """Results by check name; ``server_errors`` lists any 5xx our server answered meanwhile."""

    def __init__(self, raw: dict[str, Any], server_errors: list[tuple[str, str, int]]) -> None:
        self.raw = raw
        self.server_errors = server_errors

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    def _entry(self, name: str) -> dict[str, Any]:
        assert name in self.raw, f"the script ran no check named {name!r}"
        return self.raw[name]

    def value(self, name: str) -> Any:
        """The check's return value; fails with the client-side traceback if it raised."""
        entry = self._entry(name)
        if "error" in entry:
            error = entry["error"]
            raise AssertionError(
                f"check {name!r} raised {error['type']}: {error['message']}\n{error['traceback']}"
            )
        return _decode(entry["value"])

    def error(self, name: str) -> dict[str, Any]:
        """The exception the check raised (type, base classes, message, HTTP status)."""
        entry = self._entry(name)
        assert "error" in entry, f"check {name!r} did not raise; it returned {entry['value']!r}"
        return entry["error"]

    def raised(self, name: str, type_name: str) -> dict[str, Any]:
        """Assert the check raised an exception that is (a subclass of) ``type_name``."""
        error = self.error(name)
        assert type_name in error["types"], (
            f"check {name!r} raised {error['type']} ({error['message']}), not {type_name}"
        )
        return error
