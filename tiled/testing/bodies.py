"""Registration request bodies for real files, for tests and benchmarks over raw HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def registration_body(
    key: str, path: Path, mimetype: str, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The body of ``POST /api/v1/register/{parent}`` for one file, inspected as the
    server would (structure read from the file's header)."""
    from ..adapters.registry import inspect

    inspection = inspect(mimetype, [path])
    family = inspection.structure_family.value
    return {
        "id": key,
        "structure_family": family,
        "metadata": metadata if metadata is not None else {},
        "specs": [],
        "data_sources": [
            {
                "structure_family": family,
                "mimetype": mimetype,
                "structure": inspection.structure.to_json(),
                "parameters": {},
                "properties": {},
                "management": "external",
                "assets": [
                    {
                        "data_uri": path.resolve().as_uri(),
                        "is_directory": False,
                        "parameter": "data_uri",
                        "num": None,
                    }
                ],
            }
        ],
    }
