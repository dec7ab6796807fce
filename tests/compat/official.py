"""The official ``tiled`` client from PyPI, in a virtual environment of its own.

The official package is also named ``tiled``, so it can never be imported in the test
process: scripts under ``scripts/`` run on the environment's python in a subprocess, with
our worktree kept off its path, and hand their results back as JSON and ``.npy``/Parquet
files. The environment is created once per (client version, python version) and cached
under ``~/.cache/tiled-server-compat`` (``TILED_COMPAT_CACHE`` overrides it); a file lock
keeps parallel test workers from building it twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Pinned in the issue; 0.2.20 is also the newest 0.2.x on PyPI (checked 2026-11-25 with
# ``pip index versions tiled``). Add a newer 0.2.x here when one appears, or set
# TILED_COMPAT_VERSIONS=0.2.20,0.2.21 to try one without editing.
CLIENT_VERSIONS = ("0.2.20",)

# ``client`` is the client; ``formats`` and ``minimal-server`` bring the file readers the
# client's own ``register()`` and ``tiled register`` open files with (they import the
# official adapters, which import SQLAlchemy and FastAPI). Zarr is only in server extras.
REQUIREMENTS = ("tiled[client,formats,minimal-server]=={version}", "zarr")

# Only for the opt-in reference run (TILED_COMPAT_REFERENCE=1): Tiled's own server, so the
# same checks can be run against the original and our expectations verified.
SERVER_REQUIREMENTS = ("tiled[server]=={version}",)

SCRIPTS = Path(__file__).parent / "scripts"
_READY = "ready.json"


def client_versions() -> list[str]:
    override = os.environ.get("TILED_COMPAT_VERSIONS", "")
    return [v.strip() for v in override.split(",") if v.strip()] or list(CLIENT_VERSIONS)


def cache_root() -> Path:
    configured = os.environ.get("TILED_COMPAT_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tiled-server-compat"


class EnvironmentSetupError(RuntimeError):
    """The official client could not be installed (no network, PyPI down, bad pin)."""


@dataclass(frozen=True)
class OfficialClient:
    """A ready environment: its python and what pip installed into it."""

    version: str
    python: Path
    packages: Mapping[str, str]

    @property
    def bin(self) -> Path:
        return self.python.parent

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Our environment without anything that would let our ``tiled`` shadow theirs."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
            and not k.startswith("TILED_")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONNOUSERSITE"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra or {})
        return env


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def reference_requested() -> bool:
    return os.environ.get("TILED_COMPAT_REFERENCE", "") not in ("", "0")


def _requirements(version: str, server: bool) -> list[str]:
    templates = (*REQUIREMENTS, *(SERVER_REQUIREMENTS if server else ()))
    return [r.format(version=version) for r in templates]


def environment_dir(version: str, server: bool = False) -> Path:
    """Keyed by client version, python version and the requirement list (a change in the
    list builds a new environment instead of reusing one that lacks something)."""
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256(" ".join(_requirements(version, server)).encode()).hexdigest()[:8]
    return cache_root() / f"venv-{version}-{python}{'-server' if server else ''}-{digest}"


def ensure_official_client(version: str, server: bool = False) -> OfficialClient:
    """Create (once) and return the environment holding ``tiled==version`` from PyPI.

    ``server=True`` is a separate environment that also holds Tiled's server.
    """
    target = environment_dir(version, server)
    with _locked(target.with_name(target.name + ".lock")):
        ready = target / _READY
        if not ready.exists():
            _build(target, version, _requirements(version, server))
        packages = json.loads(ready.read_text())
    return OfficialClient(version, target / "bin" / "python", packages)


def _build(target: Path, version: str, requirements: list[str]) -> None:
    if target.exists():
        shutil.rmtree(target)  # a half-built environment from an interrupted run
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = target / "bin" / "python"
    command = [str(python), "-m", "pip", "install", "--quiet", "--no-input", *requirements]
    result = subprocess.run(
        command, capture_output=True, text=True, env=_pip_environ(), timeout=1200, check=False
    )
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise EnvironmentSetupError(
            f"Installing the official client ({' '.join(requirements)}) from PyPI into "
            f"{target} failed; the compatibility suite needs network access to PyPI the "
            f"first time (later runs reuse the cache).\n{result.stderr[-4000:]}"
        )
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        env=_pip_environ(),
        check=True,
    )
    packages = {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}
    if packages.get("tiled") != version:
        raise EnvironmentSetupError(f"pip installed tiled {packages.get('tiled')}, not {version}")
    (target / _READY).write_text(json.dumps(packages, indent=1, sort_keys=True))


def _pip_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


class ScriptFailed(AssertionError):
    """A driver script crashed outside any single check."""


def run_script(
    client: OfficialClient,
    name: str,
    context: Mapping[str, Any],
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> dict[str, Any]:
    """Run ``scripts/<name>.py`` on the official client; return its results by check name.

    Each result is ``{"value": ...}`` or ``{"error": {"type", "types", "message"}}``;
    arrays and frames come back as paths to ``.npy``/Parquet files under ``workdir``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    context_file = workdir / "context.json"
    results_file = workdir / "results.json"
    context_file.write_text(json.dumps(dict(context)))
    results_file.unlink(missing_ok=True)
    completed = subprocess.run(
        [
            str(client.python),
            "-s",
            str(SCRIPTS / f"{name}.py"),
            str(context_file),
            str(results_file),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=client.environ(env),
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0 or not results_file.exists():
        raise ScriptFailed(
            f"scripts/{name}.py exited with {completed.returncode}\n"
            f"--- stdout\n{completed.stdout[-4000:]}\n--- stderr\n{completed.stderr[-8000:]}"
        )
    return json.loads(results_file.read_text())
