"""The settling rules, on a fake clock: quiet for N seconds, then back-off on failure."""

from __future__ import annotations

from tiled.registration.settle import SettleTracker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ready_only_after_quiet_for_the_settle_window():
    clock = Clock()
    tracker = SettleTracker(2.0, clock=clock)
    verdict = tracker.observe("a", (10, 1))
    assert verdict.status == "wait"
    assert verdict.at == 1002.0
    clock.now = 1001.0
    assert tracker.observe("a", (20, 2)).at == 1003.0  # it grew: the window starts over
    clock.now = 1003.0
    assert tracker.observe("a", (20, 2)).status == "ready"


def test_a_file_untouched_for_long_is_ready_at_once():
    tracker = SettleTracker(2.0, clock=Clock())
    assert tracker.observe("old", (1, 1), last_modified=900.0).status == "ready"
    # a modification time in the future (clock skew) does not make it ready early
    assert tracker.observe("skewed", (1, 1), last_modified=5000.0).status == "wait"


def test_failures_back_off_exponentially_up_to_a_cap():
    clock = Clock()
    tracker = SettleTracker(0, clock=clock, first_backoff=1, max_backoff=4, max_attempts=100)
    assert tracker.observe("f", "s").status == "ready"
    delays = []
    for _ in range(5):
        verdict = tracker.failed("f", "incomplete", final=False)
        delays.append(verdict.at - clock.now)
        clock.now = verdict.at
        assert tracker.observe("f", "s").status == "ready"
    assert delays == [1, 2, 4, 4, 4]


def test_corrupt_files_are_given_up_until_they_change():
    clock = Clock()
    tracker = SettleTracker(0, clock=clock, first_backoff=1, max_attempts=3)
    tracker.observe("f", "v1")
    for _ in range(3):
        verdict = tracker.failed("f", "corrupt")
        clock.now = max(clock.now, verdict.at)
    assert verdict.status == "given-up"
    assert verdict.reason == "corrupt"
    assert tracker.observe("f", "v1").status == "given-up"
    assert tracker.observe("f", "v2").status == "ready"  # rewritten: try again


def test_files_still_being_written_are_never_given_up():
    clock = Clock()
    tracker = SettleTracker(0, clock=clock, first_backoff=1, max_backoff=2, max_attempts=2)
    tracker.observe("h5", "s")
    for _ in range(10):
        verdict = tracker.failed("h5", "locked by a writer", final=False)
        clock.now = verdict.at
    assert tracker.observe("h5", "s").status == "ready"


def test_memory_is_bounded():
    tracker = SettleTracker(2.0, clock=Clock(), capacity=3)
    for key in "abcd":
        tracker.observe(key, 1)
    assert len(tracker) == 3
    assert "a" not in tracker
    assert tracker.overflowed
    tracker.forget("b")
    assert [key for key, _ in tracker.pending()] == ["c", "d"]
