"""The in-process sink: writes straight into a Catalog, with the server's own checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio

from ...catalog import Catalog
from ...server.registration_checks import checked_changes
from ..model import Change, KeyPath, Outcome, Registered


class CatalogSink:
    """Writes changes to ``catalog`` below ``prefix``, one transaction per batch.

    Every asset must lie inside ``readable`` (resolved, symlinks followed), exactly as
    the server demands of registrations over HTTP; sizes and times are stat'ed here.
    """

    def __init__(
        self, catalog: Catalog, prefix: KeyPath = (), readable: Sequence[Path] = ()
    ) -> None:
        self.catalog = catalog
        self.prefix = tuple(prefix)
        self.readable = tuple(Path(p) for p in readable)

    def registered(self) -> AsyncIterator[Registered]:
        return self.catalog.registered_under(self.prefix)

    async def apply(self, changes: Sequence[Change]) -> list[Outcome]:
        checked = await anyio.to_thread.run_sync(checked_changes, changes, self.readable)
        return await apply_checked(self.catalog, self.prefix, checked)

    async def close(self) -> None:
        """The catalog belongs to the caller, who closes it."""


async def apply_checked(
    catalog: Catalog, prefix: KeyPath, checked: Sequence[Change | Outcome]
) -> list[Outcome]:
    """Apply the changes that passed the checks; keep the refusals in their places."""
    accepted = [c for c in checked if not isinstance(c, Outcome)]
    applied = iter(await catalog.apply(prefix, accepted) if accepted else [])
    return [c if isinstance(c, Outcome) else next(applied) for c in checked]
