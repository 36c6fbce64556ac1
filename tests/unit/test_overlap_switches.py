"""overlap.prompt_switches: a short GIL switch interval inside, the one before put back by the last step out."""
from __future__ import annotations

import sys
import threading

import pytest

from chargeback import overlap
from chargeback.overlap import prompt_switches


@pytest.fixture
def interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_inside_the_interval_is_short_and_put_back_after(interval):
    with prompt_switches():
        assert sys.getswitchinterval() == pytest.approx(overlap.SWITCH, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)


def test_put_back_after_an_error(interval):
    with pytest.raises(RuntimeError), prompt_switches():
        raise RuntimeError("boom")
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)


def test_an_interval_already_shorter_is_kept(interval):
    sys.setswitchinterval(0.0001)
    with prompt_switches():
        assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.05)


def test_overlapping_steps_put_it_back_only_when_the_last_leaves(interval):
    """Two steps in two threads, the first out before the second: the second still runs with the short
    interval, and the default comes back only after both (a step restoring what it found would leave the
    short one behind, or cut the other short)."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, float] = {}

    def first() -> None:
        with prompt_switches():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with prompt_switches():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = sys.getswitchinterval()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen["after the first left"] == pytest.approx(overlap.SWITCH, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)
