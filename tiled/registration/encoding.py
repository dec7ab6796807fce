"""Changes as the bulk registration endpoint takes them, in msgpack.

Shared by the HTTP sink (a whole batch) and the inspection workers, which encode each node
they inspected for ``register`` (:class:`~.model.PackedEntry`), so that the parent only
splices the pre-encoded bodies into a batch. Imports neither httpx nor the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgpack

from ..structures.core import StructureFamily
from .model import Change, NodeEntry, PackedEntry, Put

__all__ = ["change_body", "encode_changes", "node_body", "pack_entry"]


def _encode_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays in inspected metadata
        return value.tolist()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"Cannot send a {type(value).__name__} in metadata")


def node_body(entry: NodeEntry) -> dict[str, Any]:
    """The ``node`` of a put: the same body ``POST /register`` takes."""
    return {
        "structure_family": StructureFamily(entry.structure_family).value,
        "metadata": entry.metadata,
        "specs": [s.to_json() for s in entry.specs],
        "data_sources": [ds.to_json() for ds in entry.data_sources],
    }


def change_body(change: Change) -> dict[str, Any]:
    """One change of a batch (a packed entry's node stays encoded: see encode_changes)."""
    if isinstance(change, Put):
        entry = change.entry
        node = (
            msgpack.unpackb(entry.body, raw=False)
            if isinstance(entry, PackedEntry)
            else node_body(entry)
        )
        return {
            "op": "put",
            "key_path": list(entry.key_path),
            "replace": change.replace,
            "node": node,
        }
    return {"op": "remove", "key_path": list(change.key_path)}


def pack_entry(entry: NodeEntry) -> PackedEntry | NodeEntry:
    """``entry`` encoded; unchanged when its metadata cannot be encoded (the sink then
    reports that as it always did)."""
    try:
        body = msgpack.packb(node_body(entry), default=_encode_default)
    except Exception:
        return entry
    return PackedEntry(entry.key_path, entry.structure_family, body, entry.stats)


def encode_changes(changes: Sequence[Change]) -> bytes:
    """``{"changes": [...]}`` in msgpack, byte for byte what packing the change bodies
    would give, with packed nodes spliced in as they are."""
    packer = msgpack.Packer(default=_encode_default)
    parts = [packer.pack_map_header(1), packer.pack("changes")]
    parts.append(packer.pack_array_header(len(changes)))
    for change in changes:
        if isinstance(change, Put) and isinstance(change.entry, PackedEntry):
            entry = change.entry
            parts.append(packer.pack_map_header(4))
            parts.append(packer.pack("op"))
            parts.append(packer.pack("put"))
            parts.append(packer.pack("key_path"))
            parts.append(packer.pack(list(entry.key_path)))
            parts.append(packer.pack("replace"))
            parts.append(packer.pack(change.replace))
            parts.append(packer.pack("node"))
            parts.append(entry.body)
        else:
            parts.append(packer.pack(change_body(change)))
    return b"".join(parts)
