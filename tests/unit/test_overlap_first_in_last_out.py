"""overlap.collector_held is process-wide (overlap._FirstInLastOut): with two steps in two threads, the first
out before the second, the second still runs with the setting, and what was there before comes back only after
both (a step restoring what it found would leave the setting behind, or cut the other step short)."""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from chargeback import overlap

CASES = [
    pytest.param(overlap.collector_held, gc.isenabled, gc.enable,
                 lambda seen: seen is False, lambda after: after is True, id="collector"),
]


@pytest.mark.parametrize(("held", "read", "before", "inside", "after"), CASES)
def test_overlapping_steps_put_it_back_only_when_the_last_leaves(
        held: Callable[[], AbstractContextManager[None]], read: Callable[[], Any], before: Callable[[], None],
        inside: Callable[[Any], bool], after: Callable[[Any], bool]):
    collecting = gc.isenabled()   # put back whatever the test does
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def first() -> None:
        with held():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with held():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = read()

    try:
        before()
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert inside(seen["after the first left"])
        assert after(read())
    finally:
        if collecting:
            gc.enable()
        else:
            gc.disable()
