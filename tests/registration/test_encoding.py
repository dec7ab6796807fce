"""Nodes encoded in the inspection workers (``register``) make the very bytes the HTTP
sink would have sent for the same nodes inspected and encoded in the parent."""

import asyncio

import msgpack

from tiled.registration.encoding import change_body, encode_changes, pack_entry
from tiled.registration.inspect import Inspector
from tiled.registration.model import NodeEntry, PackedEntry, Planned, Put, Remove
from tiled.registration.plan import PlanOptions, walk
from tiled.structures.core import StructureFamily
from tiled.testing.trees import write_every_format


def _inspect(planned, packed):
    async def run():
        async with Inspector(1, packed=packed) as inspector:
            return await inspector.inspect(planned)

    return asyncio.run(run())


def test_packed_batches_are_byte_for_byte_the_same(tmp_path):
    write_every_format(tmp_path)
    planned = [item for item in walk(tmp_path, PlanOptions()) if isinstance(item, Planned)]
    plain = _inspect(planned, packed=False)
    packed = _inspect(planned, packed=True)
    assert all(isinstance(e, NodeEntry) for e in plain)
    assert all(isinstance(e, PackedEntry) for e in packed)
    assert [(p.key_path, p.stats) for p in packed] == [(e.key_path, e.stats) for e in plain]
    removal = Remove(("gone",))
    before = [removal, *(Put(e, replace=i % 2 == 0) for i, e in enumerate(plain))]
    after = [removal, *(Put(e, replace=i % 2 == 0) for i, e in enumerate(packed))]
    expected = msgpack.packb({"changes": [change_body(c) for c in before]}, use_bin_type=True)
    assert encode_changes(after) == expected
    assert encode_changes(before) == expected
    assert [change_body(c) for c in after] == [change_body(c) for c in before]


def test_an_entry_that_cannot_be_encoded_stays_unpacked():
    """The sink then refuses it with the message it always gave."""
    entry = NodeEntry(("x",), StructureFamily.container, {"bad": object()}, [], [])
    assert pack_entry(entry) is entry
