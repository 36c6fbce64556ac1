"""chargeback.overlap.together: both calls run at once, both finish, errors come out as a plain call's would."""
from __future__ import annotations

import threading

import pytest

from chargeback.overlap import together


def test_the_two_calls_run_at_the_same_time():
    # Each waits for the other to have started: run one after the other, the first wait times out.
    barrier = threading.Barrier(2, timeout=10)
    assert together(lambda: barrier.wait() is not None and "first",
                    lambda: barrier.wait() is not None and "second") == ("first", "second")


def test_results_in_order_of_the_arguments():
    assert together(lambda: 1, lambda: "two") == (1, "two")


def test_an_error_of_the_first_is_raised_after_the_second_has_run():
    ran = []
    def first():
        raise KeyError("first")
    with pytest.raises(KeyError, match="first"):
        together(first, lambda: ran.append("second"))
    assert ran == ["second"]


def test_an_error_of_the_second_waits_for_the_first_to_finish():
    finished = threading.Event()
    release = threading.Event()
    def first():
        release.wait(10)
        finished.set()
    def second():
        release.set()
        raise ValueError("second")
    with pytest.raises(ValueError, match="second"):
        together(first, second)
    assert finished.is_set()   # nothing is left running behind the caller


def test_when_both_fail_the_second_error_is_raised():
    def first():
        raise KeyError("first")
    def second():
        raise ValueError("second")
    with pytest.raises(ValueError, match="second"):
        together(first, second)
