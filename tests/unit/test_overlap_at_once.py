"""chargeback/overlap.at_once: every call at the same time, results in order, errors as a plain call
of one after the other would raise them, and nothing left running behind the caller."""
from __future__ import annotations

import threading
import time

import pytest

from chargeback.overlap import at_once

WAIT = 5.0   # seconds a call waits for the others at a barrier: past it, they did not run together


class First(Exception):
    pass


class Second(Exception):
    pass


class Last(Exception):
    pass


def test_no_calls_is_no_results():
    assert at_once() == ()


def test_one_call_runs_in_this_thread():
    assert at_once(threading.get_ident) == (threading.get_ident(),)


def test_the_calls_run_concurrently():
    """Three calls meet at a barrier of three: run one after the other, the first would wait alone and
    the barrier break (BrokenBarrierError)."""
    barrier = threading.Barrier(3, timeout=WAIT)
    assert at_once(*(lambda n=n: (barrier.wait(), n)[1] for n in range(3))) == (0, 1, 2)


def test_results_come_in_the_order_of_the_calls_not_of_their_ends():
    def after(seconds: float, value: str):
        def call():
            time.sleep(seconds)
            return value
        return call

    assert at_once(after(0.3, "a"), after(0.0, "b"), after(0.15, "c"), after(0.05, "d")) == ("a", "b", "c", "d")


def test_this_threads_error_comes_first():
    """The last call (this thread's) fails after the others did: its error is raised."""
    def raising(error: Exception, seconds: float = 0.0):
        def call():
            time.sleep(seconds)
            raise error
        return call

    with pytest.raises(Last):
        at_once(raising(First()), raising(Second()), raising(Last(), 0.2))


def test_else_the_first_failing_call_in_order_not_in_time():
    """The second call fails first in time; the first call's error is the one raised."""
    def raising(error: Exception, seconds: float):
        def call():
            time.sleep(seconds)
            raise error
        return call

    with pytest.raises(First):
        at_once(raising(First(), 0.3), raising(Second(), 0.0), lambda: "fine")


def test_an_error_is_raised_only_once_every_call_ended():
    ended: list[str] = []

    def slow(name: str, seconds: float):
        def call():
            time.sleep(seconds)
            ended.append(name)
            return name
        return call

    def failing():
        raise Last

    with pytest.raises(Last):
        at_once(slow("a", 0.3), slow("b", 0.1), failing)
    assert sorted(ended) == ["a", "b"]

    ended.clear()

    def failing_other():
        raise First

    with pytest.raises(First):
        at_once(failing_other, slow("b", 0.3), slow("c", 0.0))
    assert sorted(ended) == ["b", "c"]
