"""Which nodes a directory tree calls for, decided from names and ``stat`` alone.

:func:`plan_directory` reads ONE directory with one ``os.scandir`` and decides, for every
entry, whether it becomes a data node (:class:`~.model.Planned`), a container to walk
into (:class:`~.model.PlannedContainer`) or nothing (:class:`~.model.Skipped`, with the
reason). It opens no file, except to sniff the first bytes of files whose name does not
tell their format, and looks for Zarr metadata files in directories. :func:`walk` streams
a whole tree top-down on top of it, iteratively and cycle-safe.

The rules are those of the wire spec (structures §5), with these choices:

* **Order** (which becomes the container's default sort order): numbered sequences first,
  then files and dataset directories, then sub-directories; each group in natural order
  of names (``b2`` before ``b10``) rather than the operating system's arbitrary order.
* **Sequences**: TIFF, JPEG, PNG and NPY files named ``<prefix><digits>.<ext>`` are grouped
  by prefix and format (``.tif``/``.tiff`` mix, as do ``.jpg``/``.jpeg``); frames in
  natural order of their numbers; key = prefix, ``_unnamed`` when it is empty.
* **Keys**: the name with all suffixes stripped (``a.tar.gz`` -> ``a``) unless
  ``keep_ext``. Names that cannot be keys are skipped ("unrecognised", saying why).
* **Collisions**: when several entries map to one key, all of them are skipped
  ("collision", naming every one); none wins.
* **include_ext** filters files and dataset directories, never plain directories, so it
  never stops recursion. A file recognised by content passes when an included extension
  maps to its format.
* **Symbolic links** are followed when their target (resolved) lies inside one of
  ``roots``; others are skipped ("symlink-outside"). A link to a directory that contains
  it, and any directory already on the current walk path (same ``st_dev``/``st_ino``),
  is skipped ("symlink-cycle"). A link to a directory elsewhere inside a root is walked
  as a second view of that directory. With ``roots`` empty every link is followed.
* Hidden names (leading ``.``) are skipped ("hidden") and never entered.
"""

from __future__ import annotations

import errno
import importlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..adapters.registry import known_mimetypes, natural_key, normalise_mimetype, sequence_mimetype
from ..catalog.records import check_key
from ..errors import BadRequestError
from .detect import ZARR, extension_table, mimetype_by_name, sniff_directory, sniff_file
from .model import FileState, KeyPath, Planned, PlannedContainer, Skipped

__all__ = [
    "DirectoryPlan",
    "MimetypeHook",
    "PlanOptions",
    "WalkerHook",
    "key_for",
    "key_problem",
    "load_object",
    "options_from_cli",
    "parameter_for",
    "plan_directory",
    "walk",
]

MimetypeHook = Callable[[Path], "str | None"]
WalkerHook = Callable[[Path, KeyPath, "PlanOptions"], "DirectoryPlan | None"]
"""``walker(directory, key_path, options)``: the plan of one directory, or None to let the
default planner do it. ``directory`` is absolute and resolved; the plan's key paths must
start with ``key_path``. Called once per directory (the walk recurses into the returned
``containers``)."""

SEQUENCE_FORMATS = frozenset({"image/tiff", "image/jpeg", "image/png", "application/x-npy"})
# Formats whose reader takes a list of files (spec §4.3): CSV and tables, and sequences.
_PLURAL = ("text/csv", "application/x-parquet", "application/vnd.apache.arrow.file")
_SEQUENCE_NAME = re.compile(r"^(.*?)(\d+)\.[^.]+$", re.DOTALL)
_UNNAMED = "_unnamed"


@dataclass
class PlanOptions:
    """How names become nodes: the command line's indexing options, already parsed."""

    keep_ext: bool = False
    include_ext: frozenset[str] | None = None  # lower case, with the dot; None = all
    ext_overrides: dict[str, str] = field(default_factory=dict)  # ".foo" -> mimetype
    mimetype_hook: MimetypeHook | None = None  # path -> mimetype, None to fall back
    walker: WalkerHook | None = None
    roots: tuple[Path, ...] = ()  # resolved; where symbolic links may lead

    def __post_init__(self) -> None:
        if self.include_ext is not None:
            self.include_ext = frozenset(_dotted(e) for e in self.include_ext)
        self.ext_overrides = {
            _dotted(k): normalise_mimetype(v) for k, v in self.ext_overrides.items()
        }
        self.roots = tuple(Path(os.path.realpath(r)) for r in self.roots)


@dataclass
class DirectoryPlan:
    """Everything one directory calls for, in registration order."""

    entries: list[Planned] = field(default_factory=list)
    containers: list[PlannedContainer] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _dotted(extension: str) -> str:
    extension = extension.strip().lower()
    return extension if extension.startswith(".") else "." + extension


def parameter_for(mimetype: str) -> str:
    """The reader argument a mimetype's assets go to (spec §4.3)."""
    plural = mimetype.startswith("multipart/related") or mimetype.startswith(_PLURAL)
    return "data_uris" if plural else "data_uri"


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a node key (the catalog's own rule), or None when it can."""
    try:
        check_key(key)
    except BadRequestError as err:
        return str(err)
    return None


def key_for(name: str, keep_ext: bool = False) -> str:
    """The node key of a file or directory name: all suffixes stripped unless ``keep_ext``."""
    return name if keep_ext else name.partition(".")[0]


class _Detection:
    """Per-call lookup tables, so each entry costs dictionary lookups only."""

    def __init__(self, options: PlanOptions) -> None:
        self.table = extension_table(options.ext_overrides)
        self.known = frozenset(known_mimetypes())
        self.hook = options.mimetype_hook
        self.include = options.include_ext
        self.include_mimetypes = (
            frozenset(self.table[e] for e in self.include if e in self.table)
            if self.include is not None
            else frozenset()
        )

    def by_hook(self, path: Path) -> str | None:
        if self.hook is None:
            return None
        mimetype = self.hook(path)
        return normalise_mimetype(mimetype) if mimetype else None

    def by_name(self, name: str) -> str | None:
        return mimetype_by_name(name, self.table, self.known)

    def included(self, name: str, mimetype: str | None, by_content: bool) -> bool:
        if self.include is None:
            return True
        lower = name.lower()
        if any(lower.endswith(e) for e in self.include):
            return True
        return by_content and mimetype in self.include_mimetypes


@dataclass
class _Item:
    """A would-be node of this directory, before collisions are settled."""

    key: str
    group: int  # 0 sequence, 1 file or dataset directory, 2 plain directory
    sort: Any
    paths: list[Path]  # the entries as named in the directory, for messages
    planned: Planned | PlannedContainer


def _skip(path: Path, reason: Any, detail: str, key_path: KeyPath) -> Skipped:
    return Skipped(path=path, reason=reason, detail=detail, key_path=key_path)


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def plan_directory(directory: Path, key_path: KeyPath, options: PlanOptions) -> DirectoryPlan:
    """The nodes one directory calls for (see the module's docstring for the rules).

    ``key_path`` is the directory's own key path; its children get ``key_path + (key,)``.
    Never raises for a bad entry: it becomes a Skipped. A directory that cannot be listed
    gives one Skipped ("unreadable") for the directory itself.
    """
    return _plan_resolved(Path(os.path.realpath(directory)), key_path, options, None)


def _plan_resolved(
    directory: Path, key_path: KeyPath, options: PlanOptions, detection: _Detection | None
) -> DirectoryPlan:
    if options.walker is not None:
        try:
            custom = options.walker(directory, key_path, options)
        except Exception as err:  # a user's walker must not stop the whole walk
            detail = f"{directory}: the walker hook failed: {err!r}"
            return DirectoryPlan(skipped=[_skip(directory, "unrecognised", detail, key_path)])
        if custom is not None:
            return custom
    detection = detection or _Detection(options)
    plan = DirectoryPlan()
    try:
        with os.scandir(directory) as listing:
            entries = list(listing)
    except OSError as err:
        reason = "unreadable"
        plan.skipped.append(_skip(directory, reason, _os_detail(err, directory), key_path))
        return plan

    items: list[_Item] = []
    sequences: dict[tuple[str, str], list[tuple[Path, FileState]]] = {}
    for entry in entries:
        outcome = _plan_entry(entry, directory, key_path, options, detection)
        if isinstance(outcome, Skipped):
            plan.skipped.append(outcome)
        elif isinstance(outcome, tuple):
            prefix, mimetype, path, state = outcome
            sequences.setdefault((prefix, mimetype), []).append((path, state))
        elif outcome is not None:
            items.append(outcome)

    for (prefix, mimetype), frames in sequences.items():
        frames.sort(key=lambda frame: natural_key(frame[0].name))
        key = prefix or _UNNAMED
        planned = Planned(
            key_path=(*key_path, key),
            mimetype=sequence_mimetype(mimetype),
            files=tuple(state for _, state in frames),
            parameter="data_uris",
        )
        items.append(_Item(key, 0, natural_key(key), [p for p, _ in frames], planned))

    _settle(items, plan, key_path)
    return plan


def _os_detail(err: OSError, path: Path) -> str:
    return f"{path}: {err.strerror or type(err).__name__}"


def _plan_entry(
    entry: os.DirEntry[str],
    directory: Path,
    key_path: KeyPath,
    options: PlanOptions,
    detection: _Detection,
) -> Skipped | _Item | tuple[str, str, Path, FileState] | None:
    """One entry's fate: skipped, an item, or a frame ``(prefix, mimetype, path, state)``."""
    name = entry.name
    path = directory / name
    if name.startswith("."):
        return _skip(path, "hidden", f"{path}: hidden names (leading '.') are not indexed", None)
    try:
        if entry.is_symlink():
            resolved = Path(os.path.realpath(path))
            if options.roots and not _inside(resolved, options.roots):
                return _skip(
                    path,
                    "symlink-outside",
                    f"{path} links to {resolved}, outside the indexed directories "
                    f"({', '.join(map(str, options.roots))})",
                    None,
                )
            try:
                info = os.stat(path)
            except FileNotFoundError:
                return _skip(path, "unreadable", f"{path}: broken link to {resolved}", None)
            except OSError as err:
                if err.errno == errno.ELOOP:  # the links point at each other
                    return _skip(path, "symlink-cycle", f"{path}: links form a loop", None)
                raise
            if stat.S_ISDIR(info.st_mode) and _inside(directory, [resolved]):
                return _skip(
                    path,
                    "symlink-cycle",
                    f"{path} links to {resolved}, which contains it; following it would loop",
                    None,
                )
        else:
            resolved = path
            info = entry.stat(follow_symlinks=False)
    except OSError as err:
        return _skip(path, "unreadable", _os_detail(err, path), None)

    if stat.S_ISDIR(info.st_mode):
        return _plan_directory_entry(name, path, resolved, info, key_path, options, detection)
    if not stat.S_ISREG(info.st_mode):
        return _skip(path, "unrecognised", f"{path} is not a regular file or directory", None)
    return _plan_file(name, path, resolved, info, key_path, options, detection)


def _plan_directory_entry(
    name: str,
    path: Path,
    resolved: Path,
    info: os.stat_result,
    key_path: KeyPath,
    options: PlanOptions,
    detection: _Detection,
) -> Skipped | _Item:
    try:
        by_content = False
        mimetype = detection.by_hook(resolved)
        if mimetype is None:
            mimetype = detection.by_name(name)
            if mimetype is not None and mimetype != ZARR and mimetype in _FILE_FORMATS:
                mimetype = None  # "run.h5/" is a plain directory, not an HDF5 file
        if mimetype is None:
            mimetype = sniff_directory(resolved)
            by_content = mimetype is not None
    except Exception as err:  # a user's hook must not stop the walk
        return _skip(path, "unrecognised", f"{path}: mimetype hook failed: {err!r}", None)
    key = key_for(name, options.keep_ext)
    problem = key_problem(key)
    if problem:
        return _skip(path, "unrecognised", f"{path}: {problem}", None)
    child = (*key_path, key)
    if mimetype is None:
        container = PlannedContainer(key_path=child, directory=resolved)
        return _Item(key, 2, natural_key(name), [path], container)
    if not detection.included(name, mimetype, by_content):
        return _skip(path, "excluded-extension", f"{path}: not among --include-ext", child)
    if mimetype not in detection.known:
        return _skip(path, "unrecognised", f"{path}: no reader for {mimetype}", child)
    state = FileState(path=resolved, size=None, mtime_ns=info.st_mtime_ns, is_directory=True)
    planned = Planned(
        key_path=child, mimetype=mimetype, files=(state,), parameter=parameter_for(mimetype)
    )
    return _Item(key, 1, natural_key(name), [path], planned)


# Formats that are single files: a directory named like one is a plain directory.
_FILE_FORMATS = frozenset(
    {
        "image/tiff",
        "image/jpeg",
        "image/png",
        "application/x-npy",
        "application/x-hdf5",
        "application/x-netcdf",
        "text/csv",
        "application/x-parquet",
        "application/vnd.apache.arrow.file",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)


def _plan_file(
    name: str,
    path: Path,
    resolved: Path,
    info: os.stat_result,
    key_path: KeyPath,
    options: PlanOptions,
    detection: _Detection,
) -> Skipped | _Item | tuple[str, str, Path, FileState]:
    by_content = False
    try:
        mimetype = detection.by_hook(resolved)
        if mimetype is None:
            mimetype = detection.by_name(name)
    except Exception as err:  # a user's hook must not stop the walk
        return _skip(path, "unrecognised", f"{path}: mimetype hook failed: {err!r}", None)
    if mimetype is None and (detection.include is None or not _named_included(name, detection)):
        try:
            mimetype = sniff_file(resolved)
        except OSError as err:
            return _skip(path, "unreadable", _os_detail(err, path), None)
        by_content = mimetype is not None
    if not detection.included(name, mimetype, by_content):
        return _skip(path, "excluded-extension", f"{path}: not among --include-ext", None)
    if mimetype is None:
        return _skip(
            path,
            "unrecognised",
            f"{path}: neither its name nor its first bytes match a known format "
            "(use --ext or --mimetype-hook to say what it is)",
            None,
        )
    state = FileState(path=resolved, size=info.st_size, mtime_ns=info.st_mtime_ns)
    if mimetype not in detection.known:
        return _skip(path, "unrecognised", f"{path}: no reader for {mimetype}", None)
    if mimetype in SEQUENCE_FORMATS:
        match = _SEQUENCE_NAME.match(name)
        if match:
            return (match.group(1), mimetype, path, state)
    key = key_for(name, options.keep_ext)
    problem = key_problem(key)
    if problem:
        return _skip(path, "unrecognised", f"{path}: {problem}", None)
    planned = Planned(
        key_path=(*key_path, key),
        mimetype=mimetype,
        files=(state,),
        parameter=parameter_for(mimetype),
    )
    return _Item(key, 1, natural_key(name), [path], planned)


def _named_included(name: str, detection: _Detection) -> bool:
    """Whether the name alone is among the included extensions (so sniffing is moot)."""
    lower = name.lower()
    return any(lower.endswith(e) for e in detection.include or ())


def _settle(items: list[_Item], plan: DirectoryPlan, key_path: KeyPath) -> None:
    """Skip every item whose key another item also claims; order the rest."""
    by_key: dict[str, list[_Item]] = {}
    for item in items:
        by_key.setdefault(item.key, []).append(item)
    kept = []
    for key, claimants in by_key.items():
        if len(claimants) == 1:
            kept.append(claimants[0])
            continue
        names = ", ".join(sorted(repr(item.paths[0].name) for item in claimants))
        detail = f"{names} all map to the key {key!r}; none of them is indexed"
        for item in claimants:
            for path in item.paths:
                plan.skipped.append(_skip(path, "collision", f"{path}: {detail}", (*key_path, key)))
    kept.sort(key=lambda item: (item.group, item.sort))
    for item in kept:
        if problem := key_problem(item.key):
            for path in item.paths:
                plan.skipped.append(_skip(path, "unrecognised", f"{path}: {problem}", None))
        elif isinstance(item.planned, PlannedContainer):
            plan.containers.append(item.planned)
        else:
            plan.entries.append(item.planned)


def walk(
    root: Path, options: PlanOptions, key_path: KeyPath = ()
) -> Iterator[PlannedContainer | Planned | Skipped]:
    """Everything under ``root``, top-down: a container before its contents.

    ``root`` itself is not yielded (it is the node the tree is registered under). With
    ``options.roots`` empty, ``root`` is the only root. Iterative and cycle-safe: a
    directory already on the path from ``root`` is skipped ("symlink-cycle").
    """
    root = Path(os.path.realpath(root))
    if not options.roots:
        options = PlanOptions(
            keep_ext=options.keep_ext,
            include_ext=options.include_ext,
            ext_overrides=options.ext_overrides,
            mimetype_hook=options.mimetype_hook,
            walker=options.walker,
            roots=(root,),
        )
    try:
        info = os.stat(root)
    except OSError as err:
        yield _skip(root, "unreadable", _os_detail(err, root), key_path)
        return
    stack: list[tuple[Path, KeyPath, frozenset[tuple[int, int]]]] = [
        (root, key_path, frozenset({(info.st_dev, info.st_ino)}))
    ]
    detection = _Detection(options)
    while stack:
        directory, here, ancestors = stack.pop()
        plan = _plan_resolved(directory, here, options, detection)
        yield from plan.entries
        yield from plan.skipped
        children = []
        for container in plan.containers:
            try:
                info = os.stat(container.directory)
            except OSError as err:
                reason = "unreadable"
                detail = _os_detail(err, container.directory)
                yield _skip(container.directory, reason, detail, container.key_path)
                continue
            identity = (info.st_dev, info.st_ino)
            if identity in ancestors:
                yield _skip(
                    container.directory,
                    "symlink-cycle",
                    f"{container.directory} is already being walked above "
                    f"{'/'.join(container.key_path)}; following it would loop",
                    container.key_path,
                )
                continue
            yield container
            children.append((container.directory, container.key_path, ancestors | {identity}))
        stack.extend(reversed(children))


def load_object(spec: str, what: str) -> Any:
    """Import ``package.module:name``; a clear BadRequestError when that is not possible."""
    module_name, sep, attribute = spec.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise BadRequestError(f"{what} {spec!r} must be written as 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise BadRequestError(f"Cannot load {what} {spec!r}: {err}") from err
    if not callable(obj):
        raise BadRequestError(f"{what} {spec!r} is not callable")
    return obj


def options_from_cli(
    roots: Iterable[Path | str] = (),
    *,
    keep_ext: bool = False,
    include_ext: Iterable[str] = (),
    ext: Iterable[str] = (),
    mimetype_hook: str | None = None,
    walker: str | None = None,
) -> PlanOptions:
    """PlanOptions from command-line strings, checked now so that a typo fails at start-up.

    ``include_ext``: ``.csv`` or ``csv``, repeated or comma-separated. ``ext``:
    ``.foo=mime/type`` (the mimetype needs a reader: built-in, plug-in or ``--adapter``).
    ``mimetype_hook`` and ``walker``: ``package.module:function``. Raises
    BadRequestError naming the option at fault.
    """
    resolved_roots = []
    for root in roots:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise BadRequestError(f"{root} is not a directory; give a directory to index")
        resolved_roots.append(path)
    included = None
    include_list = [p for value in include_ext for p in value.split(",") if p.strip()]
    if include_list:
        included = frozenset(_dotted(e) for e in include_list)
        if any(e == "." for e in included):
            raise BadRequestError("--include-ext needs extensions such as '.csv'")
    known = set(known_mimetypes())
    overrides = {}
    for option in ext:
        suffix, sep, mimetype = option.partition("=")
        if not sep or not suffix.strip() or not mimetype.strip():
            raise BadRequestError(f"--ext {option!r} must be written as '.foo=mime/type'")
        if normalise_mimetype(mimetype) not in known:
            raise BadRequestError(
                f"--ext {option!r}: no reader is known for {mimetype.strip()!r}; known: "
                f"{', '.join(sorted(known))} (add one with --adapter MIMETYPE=module:Class)"
            )
        overrides[_dotted(suffix)] = normalise_mimetype(mimetype)
    return PlanOptions(
        keep_ext=keep_ext,
        include_ext=included,
        ext_overrides=overrides,
        mimetype_hook=load_object(mimetype_hook, "the mimetype hook") if mimetype_hook else None,
        walker=load_object(walker, "the walker") if walker else None,
        roots=tuple(resolved_roots),
    )
