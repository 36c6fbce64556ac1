"""Two independent storage requests at once: their waits overlap instead of adding up.

A month-to-date refresh is mostly round trips to storage whose answers do not depend on each other (the
partition index and the rollup rows; the rollup rows, the merged sum and the configuration pointer). The
socket waits release the GIL, so a second thread overlaps them; the SDK clients are shared between
threads already (chargeback/usage/reading reads partitions in a pool).
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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
