"""Issue 17: concurrent writers share stamp rounds, and each still returns only after a stamp of its own
partitions that began after it asked (the month-to-date refresh's ETag contract)."""
from __future__ import annotations

import threading
import time
from itertools import pairwise

import pytest

from chargeback.storage.stamp_rounds import StampRounds


class Wire:
    """A stamp write that takes a while and remembers when each round was on the wire."""

    def __init__(self, fail_with: Exception | None = None):
        self.rounds: list[tuple[float, float, set[str]]] = []
        self.fail_with = fail_with
        self.lock = threading.Lock()

    def __call__(self, partitions: set[str]) -> None:
        began = time.perf_counter()
        time.sleep(0.02)
        with self.lock:
            self.rounds.append((began, time.perf_counter(), set(partitions)))
        if self.fail_with is not None:
            raise self.fail_with


def test_every_writer_waits_for_a_round_of_its_partitions_that_began_after_it_asked():
    wire = Wire()
    rounds = StampRounds(wire)
    asked: list[tuple[float, float, set[str]]] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for k in range(5):
            mine = {f"2026-10~{(n + k) % 16:02d}", f"2026-10~{n:02d}"}
            start = time.perf_counter()
            rounds.stamp(mine)
            with lock:
                asked.append((start, time.perf_counter(), mine))
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(asked) == 40
    for start, end, mine in asked:
        assert any(began >= start and ended <= end and mine <= sent for began, ended, sent in wire.rounds)
    assert len(wire.rounds) < 40   # writers that asked together shared a round
    on_wire = sorted(wire.rounds, key=lambda r: r[0])
    assert all(e1 <= b2 for (_, e1, _), (b2, _, _) in pairwise(on_wire))   # one at a time


def test_a_round_that_fails_fails_every_writer_in_it_and_the_next_round_is_tried_afresh():
    wire = Wire(fail_with=ConnectionError("storage went away"))
    rounds = StampRounds(wire)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            rounds.stamp({f"p{n}"})
        except ConnectionError as exc:
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 4
    wire.fail_with = None
    rounds.stamp({"p9"})
    assert wire.rounds[-1][2] == {"p9"}
    wire.fail_with = ConnectionError("again")
    with pytest.raises(ConnectionError):
        rounds.stamp({"p1"})


def test_nothing_to_stamp_writes_nothing():
    wire = Wire()
    StampRounds(wire).stamp(set())
    assert wire.rounds == []
