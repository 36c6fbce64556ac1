"""Two independent storage requests at once: their waits overlap instead of adding up.

A month-to-date refresh is mostly round trips to storage whose answers do not depend on each other (the
partition index and the rollup rows; the rollup rows, the merged sum and the configuration pointer). The
socket waits release the GIL, so a second thread overlaps them; the SDK clients are shared between
threads already (chargeback/usage/reading reads partitions in a pool).
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

A = TypeVar("A")
B = TypeVar("B")


def together(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``(first(), second())``, ``first`` in another thread while ``second`` runs in this one. Both run to
    the end whatever the other does; an error of either is raised (``second``'s first), as a plain call
    of one after the other would raise it."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlap") as pool:
        pending = pool.submit(first)
        try:
            other = second()
        finally:
            done = pending.exception()   # waits: nothing is left running behind the caller
        if done is not None:
            raise done
        return pending.result(), other


def at_once(*calls: Callable[[], Any]) -> tuple[Any, ...]:
    """Every call's result, in order: the last runs in this thread, the others each in one of their own.
    All run to the end whatever the others do; an error is raised as ``together`` raises it (this
    thread's first, then the others' in order)."""
    if not calls:
        return ()
    with ThreadPoolExecutor(max_workers=max(1, len(calls) - 1), thread_name_prefix="overlap") as pool:
        pending = [pool.submit(call) for call in calls[:-1]]
        try:
            last = calls[-1]()
        finally:
            errors = [done for done in (future.exception() for future in pending) if done is not None]
        if errors:
            raise errors[0]
        return (*(future.result() for future in pending), last)


SWITCH = 0.0005   # seconds; CPython's default is 0.005
_switching = threading.Lock()
_inside = [0, 0.0]   # steps inside prompt_switches, and the interval before the first came in


@contextmanager
def prompt_switches() -> Iterator[None]:
    """Within: a thread holding the GIL is asked to let go of it ``SWITCH`` after another thread asked for it
    (sys.setswitchinterval; "the interpreter's thread switch interval", 5 ms by default). A step that
    overlaps requests with computing otherwise makes a thread whose answer came in, or that has a request
    to send, wait up to 5 ms behind the computing one at each turn. Process-wide: set by the first step in,
    put back by the last one out."""
    with _switching:
        if not _inside[0]:
            _inside[1] = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH, _inside[1]))
        _inside[0] += 1
    try:
        yield
    finally:
        with _switching:
            _inside[0] -= 1
            if not _inside[0]:
                sys.setswitchinterval(_inside[1])
