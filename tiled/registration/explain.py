"""Why a given file is (or is not) in the catalog, and under which key.

:func:`explain` replays the planner's decisions along the path from the root to the file,
one directory at a time (the same :func:`~.plan.plan_directory` the indexer uses, so the
answer cannot drift from what indexing does), then reads the file's headers as the
inspector would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .inspect import inspect_planned
from .model import KeyPath, NodeEntry, Planned, Skipped
from .plan import PlanOptions, plan_directory

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True)
class Explanation:
    """The verdict on one path: indexed (with key path and mimetype) or not, and why."""

    path: Path
    indexed: bool
    key_path: KeyPath | None = None
    mimetype: str | None = None
    structure_family: str | None = None
    reason: str | None = None  # a SkipReason, or "outside-root", "missing", "inside-dataset"
    detail: str = ""

    def message(self) -> str:
        key = "/".join(self.key_path) if self.key_path else None
        if self.indexed:
            what = f" as {self.structure_family}" if self.structure_family else ""
            kind = f" ({self.mimetype})" if self.mimetype else ""
            extra = f"; {self.detail}" if self.detail else ""
            return f"{self.path} is indexed{what} under the key path {key!r}{kind}{extra}"
        under = f" (key path {key!r})" if key else ""
        detail = self.detail.removeprefix(f"{self.path}: ")
        return f"{self.path} is not indexed{under}: {self.reason}: {detail}"


def explain(
    path: Path | str,
    root: Path | str | None = None,
    options: PlanOptions | None = None,
    *,
    inspect: bool = True,
) -> Explanation:
    """Would indexing ``root`` (default: ``path``'s parent) register ``path``?

    With ``inspect`` the file's headers are read too, so a corrupt or incomplete file is
    reported as such (as the indexer would: a recently modified file that does not look
    whole is "incomplete", an older one "corrupt").
    """
    target = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root)) if root is not None else target.parent
    options = _with_root(options or PlanOptions(), base)
    if target == base or not target.is_relative_to(base):
        return Explanation(
            target, False, reason="outside-root", detail=f"it is not inside the root {base}"
        )
    if not os.path.lexists(target):
        return Explanation(target, False, reason="missing", detail="no such file or directory")

    parts = target.relative_to(base).parts
    directory = Path(os.path.realpath(base))
    key_path: KeyPath = ()
    seen = {_identity(directory)}
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        plan = plan_directory(directory, key_path, options)
        candidate = directory / name
        real = Path(os.path.realpath(candidate))
        for skipped in plan.skipped:
            if skipped.path in (candidate, real):
                return _not_indexed(target, skipped, last, candidate)
        for planned in plan.entries:
            if any(state.path == real for state in planned.files):
                if not last:
                    return Explanation(
                        target,
                        False,
                        key_path=planned.key_path,
                        reason="inside-dataset",
                        detail=f"{candidate} is one dataset ({planned.mimetype}); the files "
                        "inside it are not nodes of their own",
                    )
                return _verdict(target, planned, inspect)
        container = next((c for c in plan.containers if c.directory == real), None)
        if container is None:
            return Explanation(
                target, False, reason="unrecognised", detail=f"{candidate} is not planned"
            )
        identity = _identity(real)
        if identity in seen:
            return Explanation(
                target,
                False,
                key_path=container.key_path,
                reason="symlink-cycle",
                detail=f"{candidate} is a directory already walked above it",
            )
        seen.add(identity)
        if last:
            return Explanation(
                target, True, key_path=container.key_path, structure_family="container"
            )
        directory, key_path = real, container.key_path
    raise AssertionError("unreachable: the loop returns at the last part")


def _with_root(options: PlanOptions, base: Path) -> PlanOptions:
    if options.roots:
        return options
    return PlanOptions(
        keep_ext=options.keep_ext,
        include_ext=options.include_ext,
        ext_overrides=options.ext_overrides,
        mimetype_hook=options.mimetype_hook,
        walker=options.walker,
        roots=(base,),
    )


def _identity(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _not_indexed(target: Path, skipped: Skipped, last: bool, at: Path) -> Explanation:
    detail = skipped.detail if last else f"its ancestor {at} is skipped: {skipped.detail}"
    return Explanation(
        target, False, key_path=skipped.key_path, reason=skipped.reason, detail=detail
    )


def _verdict(target: Path, planned: Planned, inspect: bool) -> Explanation:
    frames = len(planned.files)
    detail = f"frame {_frame(planned, target)} of {frames}" if frames > 1 else ""
    if not inspect:
        return Explanation(
            target, True, key_path=planned.key_path, mimetype=planned.mimetype, detail=detail
        )
    result = inspect_planned(planned)
    if isinstance(result, Skipped):
        return Explanation(
            target,
            False,
            key_path=planned.key_path,
            mimetype=planned.mimetype,
            reason=result.reason,
            detail=result.detail,
        )
    assert isinstance(result, NodeEntry)
    return Explanation(
        target,
        True,
        key_path=planned.key_path,
        mimetype=planned.mimetype,
        structure_family=result.structure_family.value,
        detail=detail,
    )


def _frame(planned: Planned, target: Path) -> int:
    real = Path(os.path.realpath(target))
    return next(i for i, state in enumerate(planned.files) if state.path == real) + 1
