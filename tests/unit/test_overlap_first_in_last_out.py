"""overlap.collector_held is process-wide (overlap._FirstInLastOut): with two steps in two threads, the first
out before the second, the second still runs with the collector off, and it comes back on only after both (a
step restoring what it found would leave it off, or turn it on under the other step)."""
from __future__ import annotations

import gc
import threading

from chargeback.overlap import collector_held


def test_overlapping_steps_turn_it_back_on_only_when_the_last_leaves():
    collecting = gc.isenabled()   # put back whatever the test does
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with collector_held():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_held():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = gc.isenabled()

    try:
        gc.enable()
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert seen["after the first left"] is False
        assert gc.isenabled() is True
    finally:
        if collecting:
            gc.enable()
        else:
            gc.disable()
