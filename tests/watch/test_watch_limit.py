"""When the inotify watch limit is too low for the tree, the watcher says so and polls.

The notifier silently drops the watches the kernel refuses, so the directories are
counted against the limit. The limit is lowered for real, in a user namespace of the
server's own (``/proc/sys/user/max_inotify_watches`` is per namespace): nothing else on
the machine is affected.
"""

from __future__ import annotations

import subprocess

import numpy
import pytest

from .harness import watching

pytestmark = [pytest.mark.serial, pytest.mark.slow]


def _limited(watches: int) -> list[str]:
    script = f'echo {watches} > /proc/sys/user/max_inotify_watches && exec "$@"'
    return ["unshare", "--user", "--map-root-user", "sh", "-c", script, "sh"]


@pytest.fixture(scope="module", autouse=True)
def user_namespaces():
    try:
        probe = subprocess.run([*_limited(100), "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("unshare is not available")
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here: {probe.stderr.decode(errors='replace')}")


def test_a_tree_beyond_the_limit_is_polled_with_a_warning(tmp_path):
    data = tmp_path / "data"
    for i in range(12):
        (data / f"d{i}").mkdir(parents=True)
        numpy.save(data / f"d{i}" / "a.npy", numpy.arange(3))
    with watching(data, "--settle", "0.5", wrapper=_limited(6)) as server:
        server.wait_indexed()
        server.wait_for("the warning", lambda: "inotify watch limit" in server.output())
        assert "falling back to polling" in server.output()
        assert "sysctl fs.inotify.max_user_watches" in server.output()
        numpy.save(data / "d11" / "late.npy", numpy.arange(3))
        server.wait_for("a file found by polling", lambda: "late" in server.keys("d11"))


def test_a_tree_outgrowing_the_limit_switches_to_polling(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    numpy.save(data / "a.npy", numpy.arange(3))
    with watching(data, "--settle", "0.5", wrapper=_limited(12)) as server:
        server.wait_indexed()
        assert "for file system events (inotify)" in server.output()
        for i in range(15):
            (data / f"d{i}").mkdir()
            numpy.save(data / f"d{i}" / "b.npy", numpy.arange(3))
        server.wait_for("the warning", lambda: "falling back to polling" in server.output())
        server.wait_for(
            "every new directory",
            lambda: all("b" in server.keys(f"d{i}") for i in range(15)),
        )
        numpy.save(data / "d14" / "late.npy", numpy.arange(3))
        server.wait_for("a file found by polling", lambda: "late" in server.keys("d14"))
