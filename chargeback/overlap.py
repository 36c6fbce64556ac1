"""Two independent storage requests at once: their waits overlap instead of adding up.

A month-to-date refresh is mostly round trips to storage whose answers do not depend on each other (the
partition index and the rollup rows; the rollup rows, the merged sum and the configuration pointer). The
socket waits release the GIL, so a second thread overlaps them; the SDK clients are shared between
threads already (chargeback/usage/reading reads partitions in a pool).
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")


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


class _FirstInLastOut(Generic[T]):
    """A process-wide setting for the steps inside: ``change`` (returning what it found) by the first step in,
    ``restore(found)`` by the last one out, whatever the threads and the order they leave in."""

    def __init__(self, change: Callable[[], T], restore: Callable[[T], None]):
        self._change, self._restore = change, restore
        self._lock = threading.Lock()
        self._inside = 0
        self._found: T | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if not self._inside:
                self._found = self._change()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if not self._inside:
                    self._restore(self._found)   # type: ignore[arg-type]  # set by the first step in


def _collector_off() -> bool:
    before = gc.isenabled()
    gc.disable()
    return before


def _collector_back(before: bool) -> None:
    if before:
        gc.enable()


_collector = _FirstInLastOut(_collector_off, _collector_back)


def collector_held() -> AbstractContextManager[None]:
    """Within: no cyclic garbage collection (gc.disable). Pricing the month so far allocates ~10^5 short-lived
    tuples, lists and dicts; each 700 container allocations start a young collection that walks the young
    objects: ~35 passes and 15-35 ms of a refresh's ~100 ms (counted with gc.callbacks, 2026-12-02). What a
    refresh leaves is freed by reference counting as it goes; its few cycles wait for the next collection,
    which runs as usual once the last step is out. Process-wide: turned off by the first step in, back on by the
    last one out, and only if it was on when the first came in."""
    return _collector.held()
