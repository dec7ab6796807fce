"""What registration checks before anything is written: shared by ``POST /register``, the
bulk endpoint and the in-process catalog sink, so a node is refused the same way whichever
way it arrives.

- every data source of a known mimetype (415), with assets, one per non-container node;
- every asset resolved (symlinks followed) inside the readable directories (403), existing
  (400), of the kind it claims (file or directory); its size and modification time are
  taken here, by the server, never from the client.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalog.records import AssetStat
from ..errors import BadRequestError, TiledError, UnsupportedMimetypeError
from ..structures.core import StructureFamily
from ..structures.data_source import DataSource
from .errors import ValidationFailure, status_for
from .file_access import resolve_asset_paths

if TYPE_CHECKING:
    from ..registration.model import Change, Outcome
    from .request_models import NodeBody


def data_sources_of(body: NodeBody, *, allow_none: bool = False) -> list[DataSource]:
    """Domain data sources from a registration body, with every rule checked (422/415).

    ``allow_none``: a container may come without data sources (a plain directory, in bulk
    registration); single registration always needs one.
    """
    if not body.data_sources and not (allow_none and body.structure_family == "container"):
        raise ValidationFailure(["body", "data_sources"], "Registration needs a data source")
    _check_count(body.structure_family, len(body.data_sources))
    result = []
    for i, source in enumerate(body.data_sources):
        loc: list[str | int] = ["body", "data_sources", i]
        check_mimetype(source.mimetype)
        try:
            result.append(DataSource.from_json(source.model_dump()))
        except (ValueError, TypeError, KeyError) as err:
            raise ValidationFailure([*loc, "structure"], str(err), source.structure) from err
    check_data_sources(body.structure_family, result)
    return result


def check_mimetype(mimetype: str | None) -> None:
    from ..adapters.registry import is_known_mimetype, known_mimetypes

    if is_known_mimetype(mimetype):
        return
    known = known_mimetypes()
    if mimetype not in known:
        raise UnsupportedMimetypeError(
            f"The given data source mimetype, {mimetype}, is not one that the "
            f"server knows how to read. Known: {', '.join(sorted(known))}"
        )


def check_data_sources(family: StructureFamily | str, data_sources: Sequence[DataSource]) -> None:
    """The rules every registered node's data sources follow (ValidationFailure, 415)."""
    _check_count(family, len(data_sources))
    for i, data_source in enumerate(data_sources):
        loc: list[str | int] = ["body", "data_sources", i]
        if not data_source.assets:
            raise ValidationFailure([*loc, "assets"], "A registered data source needs assets")
        check_mimetype(data_source.mimetype)
        _check_asset_order(data_source, loc)


def _check_count(family: StructureFamily | str, count: int) -> None:
    family = StructureFamily(family)
    if family != StructureFamily.container and count != 1:
        raise ValidationFailure(
            ["body", "data_sources"],
            f"A {family.value} node takes exactly one data source, got {count}",
        )


def _check_asset_order(data_source: DataSource, loc: list[str | int]) -> None:
    seen: set[tuple[str | None, int | None]] = set()
    for j, asset in enumerate(data_source.assets):
        slot = (asset.parameter, asset.num)
        if asset.num is not None and slot in seen:
            raise ValidationFailure(
                [*loc, "assets", j, "num"],
                f"Two assets share parameter {asset.parameter!r} and num {asset.num}",
            )
        seen.add(slot)


def asset_stats(
    data_sources: Sequence[DataSource],
    readable: Sequence[Path],
    directories: dict[Path, str] | None = None,
) -> dict[str, AssetStat]:
    """Check every asset lies inside the readable directories and exists; stat it.

    Runs before anything is written, so a refused registration changes nothing.
    ``directories``: a cache of resolved directories shared across one batch.
    """
    stats = {}
    for data_source in data_sources:
        assets = data_source.assets
        seen: dict[str, os.stat_result] = {}
        paths = resolve_asset_paths([a.data_uri for a in assets], readable, directories, seen)
        for asset, path in zip(assets, paths, strict=True):
            try:
                if path is None:
                    raise FileNotFoundError
                info = seen.get(asset.data_uri) or os.stat(path)
            except FileNotFoundError:
                raise BadRequestError(f"{asset.data_uri!r} does not exist on the server") from None
            if asset.is_directory != stat.S_ISDIR(info.st_mode):
                kind = "a directory" if not asset.is_directory else "not a directory"
                raise BadRequestError(
                    f"{asset.data_uri!r} is {kind}; set is_directory={not asset.is_directory}"
                )
            size = None if asset.is_directory else info.st_size
            stats[asset.data_uri] = AssetStat(size=size, mtime_ns=info.st_mtime_ns)
    return stats


def refusal_of(error: TiledError) -> tuple[int, str]:
    """The HTTP status and message a refused change reports."""
    if isinstance(error, ValidationFailure):
        where = ".".join(str(part) for part in error.loc[1:])
        return 422, f"{where}: {error.message}" if where else error.message
    return status_for(error), error.message


def checked_changes(
    changes: Sequence[Change], readable: Sequence[Path], *, rules_checked: bool = False
) -> list[Change | Outcome]:
    """Each change ready to apply (puts carry the server's own stats), or its refusal.

    Blocking (it stats files): call it once per batch in a worker thread.
    ``rules_checked``: the data sources already passed :func:`check_data_sources` (the
    bulk endpoint checked them while parsing); only the files remain to check.
    """
    from ..registration.model import Outcome, Put

    result: list[Change | Outcome] = []
    directories: dict[Path, str] = {}  # each directory resolved once per batch
    for change in changes:
        if not isinstance(change, Put):
            result.append(change)
            continue
        entry = change.entry
        try:
            if not rules_checked:
                check_data_sources(entry.structure_family, entry.data_sources)
            stats = asset_stats(entry.data_sources, readable, directories)
        except TiledError as err:
            status, message = refusal_of(err)
            result.append(Outcome(tuple(entry.key_path), False, message, status))
            continue
        for data_source in entry.data_sources:
            for asset in data_source.assets:
                asset.size = stats[asset.data_uri].size
        entry.stats = stats  # in place, like the sizes (dataclasses.replace costs more)
        result.append(change)
    return result
