"""Exporting a node in a format the server encodes, to a file or a writable buffer."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

if TYPE_CHECKING:
    from .base import BaseClient

__all__ = ["export_to", "resolve_format"]


def resolve_format(node: BaseClient, format: str | None, filename: str | None) -> str:
    """The media type for ``format`` (a media type or alias) or the file's extension."""
    family = node.structure_family.value
    about = node.context.about
    formats: list[str] = list(about.get("formats", {}).get(family, []))
    aliases: dict[str, list[str]] = dict(about.get("aliases", {}).get(family, {}))
    wanted = format
    if wanted is None:
        suffix = Path(filename).suffix.lstrip(".").lower() if filename else ""
        if not suffix:
            raise ValueError(
                "Give format=... (a media type or alias) to export into a buffer or a file "
                f"without extension; choose from {_choices(formats, aliases)}"
            )
        wanted = suffix
    if wanted in formats:
        return wanted
    for media_type, names in aliases.items():
        if wanted in names:
            return media_type
    raise ValueError(
        f"The server cannot export a {family} as {wanted!r}; choose from "
        f"{_choices(formats, aliases)}"
    )


def _choices(formats: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> str:
    names = [n for media_type in formats for n in aliases.get(media_type, [])]
    return ", ".join([*formats, *names])


def export_to(
    node: BaseClient,
    url: str,
    destination: str | os.PathLike[str] | Any,
    format: str | None,
    params: Mapping[str, Any] | Sequence[tuple[str, str]],
) -> None:
    """Stream the server's encoding of ``node`` into a path or a binary buffer."""
    is_path = isinstance(destination, str | os.PathLike)
    media_type = resolve_format(node, format, os.fspath(destination) if is_path else None)
    query = list(params.items()) if isinstance(params, Mapping) else list(params)
    query.append(("format", media_type))
    with node.context.stream(url, params=query, headers={"Accept": media_type}) as response:
        if is_path:
            # Write beside the target and rename, so a broken transfer never leaves a
            # truncated file under the requested name.
            partial = Path(f"{os.fspath(destination)}.part")
            try:
                with open(partial, "wb") as file:
                    for chunk in response.iter_bytes():
                        file.write(chunk)
                os.replace(partial, destination)
            finally:
                partial.unlink(missing_ok=True)
        else:
            buffer = cast("BinaryIO", destination)
            for chunk in response.iter_bytes():
                buffer.write(chunk)
