"""Stamps of usage partitions shared by writers that finish at the same time (a group commit).

A writer's stamp must start after its rows are written and end before the writer returns: that is what
makes a month-to-date refresh that read a partition under an older ETag read it again
(chargeback/storage/usage_table ``_write_stamps``). Batches of different Event Hub partitions run at
once (devhost/partition_pump), so several writers often want the same month's index rows re-written
together; one round re-writes the partitions of every writer that asked before it started, and a writer
that asks while a round is on the wire waits for the next round, which starts after its rows were
written. Every writer still returns only after a stamp of its partitions that began after its rows.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Round:
    partitions: set[str] = field(default_factory=set)
    done: bool = False
    failure: BaseException | None = None


class StampRounds:
    """Runs ``write(partitions)`` in rounds; ``stamp`` returns once a round holding its partitions ended."""

    def __init__(self, write: Callable[[set[str]], None]):
        self._write = write
        self._changed = threading.Condition()
        self._open = _Round()   # the round that goes out next: writers add their partitions to it
        self._busy = False      # a round is on the wire

    def stamp(self, partitions: set[str]) -> None:
        """Returns (or raises what the write raised) once a round that began after this call has ended."""
        if not partitions:
            return
        with self._changed:
            mine = self._open
            mine.partitions |= partitions
            while not mine.done:
                if self._busy:
                    self._changed.wait()
                else:
                    self._send_open_round()
        if mine.failure is not None:
            raise mine.failure

    def _send_open_round(self) -> None:
        """With the lock held: send the open round; the lock is released while it is on the wire."""
        going, self._open, self._busy = self._open, _Round(), True
        self._changed.release()
        try:
            self._write(going.partitions)
        except BaseException as exc:   # every writer of the round raises it
            going.failure = exc
        finally:
            self._changed.acquire()
            going.done, self._busy = True, False
            self._changed.notify_all()
