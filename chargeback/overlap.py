"""Two independent storage requests at once: their waits overlap instead of adding up.

A month-to-date refresh is mostly round trips to storage whose answers do not depend on each other (the
partition index and the rollup rows; the rollup rows, the merged sum and the configuration pointer). The
socket waits release the GIL, so a second thread overlaps them; the SDK clients are shared between
threads already (chargeback/usage/reading reads partitions in a pool).
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
