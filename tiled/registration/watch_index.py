"""What the sink holds, as the watcher remembers it: per directory, the fingerprint of
each child node, so that one change is compared with one directory's worth of memory
instead of a query over the whole tree.

Fingerprints are kept as hashes (an ``int`` per node); plain-directory containers as
``None``. Memory grows with the number of nodes (tens of bytes each), never with events.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .model import Fingerprint, KeyPath, Registered

DIRECTORY = None  # the value a plain-directory container has in a listing


def fingerprint_hash(fingerprint: Fingerprint) -> int:
    return hash(fingerprint)


class TreeIndex:
    """Children by parent key path, and the directories that containers came from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.children: dict[KeyPath, dict[str, int | None]] = {(): {}}
        self.directories: dict[Path, KeyPath] = {root: ()}
        self._paths: dict[KeyPath, Path] = {(): root}

    @classmethod
    def from_registered(cls, root: Path, registered: Iterable[Registered]) -> TreeIndex:
        index = cls(root)
        for item in registered:
            if not item.key_path:
                continue
            is_directory = item.fingerprint == () and item.structure_family == "container"
            index.set(item.key_path, DIRECTORY if is_directory else hash(item.fingerprint))
        return index

    def __len__(self) -> int:
        return sum(len(listing) for listing in self.children.values())

    def listing(self, key_path: KeyPath) -> dict[str, int | None]:
        return self.children.get(key_path, {})

    def set(self, key_path: KeyPath, value: int | None) -> None:
        parent, key = key_path[:-1], key_path[-1]
        listing = self.children.setdefault(parent, {})
        if listing.get(key, 0) is DIRECTORY and value is not DIRECTORY:
            self.remove(key_path)  # a directory became a file: forget what was below
            listing = self.children.setdefault(parent, {})
        listing[key] = value
        if value is DIRECTORY:
            self.children.setdefault(key_path, {})

    def add_directory(self, directory: Path, key_path: KeyPath) -> None:
        old = self._paths.get(key_path)
        if old is not None and old != directory:
            self.directories.pop(old, None)
        self.directories[directory] = key_path
        self._paths[key_path] = directory

    def directory_of(self, key_path: KeyPath) -> Path | None:
        return self._paths.get(key_path)

    def remove(self, key_path: KeyPath) -> None:
        """Forget a node and everything below it."""
        parent, key = key_path[:-1], key_path[-1]
        self.children.get(parent, {}).pop(key, None)
        pending = [key_path]
        while pending:
            here = pending.pop()
            for child, value in self.children.pop(here, {}).items():
                if value is DIRECTORY:
                    pending.append((*here, child))
            path = self._paths.pop(here, None)
            if path is not None and self.directories.get(path) == here:
                del self.directories[path]

    def nearest_directory(self, path: Path) -> Path | None:
        """The closest known directory strictly above ``path`` (None: outside the tree)."""
        candidate = path.parent
        while candidate not in self.directories:
            if candidate == candidate.parent or not candidate.is_relative_to(self.root):
                return None
            candidate = candidate.parent
        return candidate
