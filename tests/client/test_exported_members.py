"""``tiled.client.__all__`` is sorted and names every public class and function."""

import inspect

import tiled.client
from tiled.client import array, base, constructors, container, context, errors, metadata, table

# Classes that are public in their module but not part of the package's surface.
INTERNAL = {"ParsedURI"}
MODULES = [array, base, constructors, container, context, errors, metadata, table]


def test_all_is_sorted_and_importable():
    assert tiled.client.__all__ == sorted(tiled.client.__all__)
    for name in tiled.client.__all__:
        assert hasattr(tiled.client, name), name


def test_every_public_member_is_exported():
    exported = set(tiled.client.__all__)
    for module in MODULES:
        for name in module.__all__:
            member = getattr(module, name)
            public_api = inspect.isclass(member) or name.startswith("from_")
            if public_api and name not in INTERNAL:
                assert name in exported, f"{module.__name__}.{name} is not in tiled.client.__all__"


def test_module_all_lists_are_sorted():
    for module in MODULES:
        assert module.__all__ == sorted(module.__all__), module.__name__
