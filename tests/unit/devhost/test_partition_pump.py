"""Issue 17: the local host delivers Event Hub batches as the Functions host does: per partition in order,
one batch of a partition at a time, partitions at once (bounded), memory flat, a failure stops it."""
from __future__ import annotations

import itertools
import json
import random
import threading
import time

import pytest

from devhost.eventhub import Batch, batches
from devhost.partition_pump import deliver


def v2(i: int) -> str:
    return json.dumps({"schemaVersion": 2, "requestId": f"r-{i}", "timestamp": "2026-10-03T14:05:09Z",
                       "subscriptionId": "s", "usage": {"prompt_tokens": 1, "completion_tokens": 1}})


class Recorder:
    """What a trigger saw: the batches in the order each partition handed them over, and the overlap."""

    def __init__(self, pause: float = 0.0):
        self.pause = pause
        self.lock = threading.Lock()
        self.handled: dict[str, list[list[int]]] = {}
        self.in_flight: dict[str, int] = {}
        self.most_at_once = 0
        self.most_of_one_partition = 0

    def __call__(self, batch: Batch) -> None:
        with self.lock:
            self.in_flight[batch.partition] = self.in_flight.get(batch.partition, 0) + 1
            self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
            self.most_of_one_partition = max(self.most_of_one_partition, self.in_flight[batch.partition])
        time.sleep(self.pause * random.random())
        with self.lock:
            self.handled.setdefault(batch.partition, []).append([e.sequence_number for e in batch.events])
            self.in_flight[batch.partition] -= 1


def test_each_partition_is_handed_over_in_order_one_batch_at_a_time_and_every_event_once():
    lines = [v2(i) for i in range(2000)]
    seen = Recorder(pause=0.004)
    deliver(batches(lines, batch_size=37), seen, concurrency=4)
    assert set(seen.handled) == {"0", "1", "2", "3"}
    for numbers in seen.handled.values():
        flat = [n for batch in numbers for n in batch]
        assert flat == list(range(len(flat)))   # in order, none twice, none left out
    assert sum(len(b) for numbers in seen.handled.values() for b in numbers) == 2000
    assert seen.most_of_one_partition == 1


def test_partitions_are_handled_at_once_up_to_the_bound():
    lines = [v2(i) for i in range(800)]
    four = threading.Barrier(4, timeout=10)   # only passes if four partitions are in the trigger together
    met: list[int] = []

    def meet(batch: Batch) -> None:
        if batch.events[0].sequence_number == 0:
            met.append(four.wait())
    deliver(batches(lines, batch_size=50), meet, concurrency=4)
    assert sorted(met) == [0, 1, 2, 3]

    two = Recorder(pause=0.01)
    deliver(batches(lines, batch_size=20), two, concurrency=2)
    assert two.most_at_once == 2 and two.most_of_one_partition == 1


def test_the_reader_stays_a_few_batches_ahead_rather_than_reading_the_whole_stream():
    made = itertools.count()

    def endless():
        for i in itertools.count():
            if next(made) > 4 * (200 + 4 * 10) + 100:
                raise AssertionError("the reader ran ahead of the trigger")
            yield v2(i)
    stop = RuntimeError("enough")

    def slow(batch: Batch) -> None:
        time.sleep(0.01)
        if batch.events[-1].sequence_number >= 200:
            raise stop
    with pytest.raises(RuntimeError) as raised:
        deliver(batches(endless(), batch_size=10), slow, concurrency=4, depth=2)
    assert raised.value is stop   # per partition: the batch handled, ``depth`` waiting, one being filled


def test_a_failure_stops_every_partition_after_its_batch_in_flight_and_is_raised():
    lines = [v2(i) for i in range(4000)]
    seen = Recorder(pause=0.002)
    failed_at = threading.Event()

    def handle(batch: Batch) -> None:
        if failed_at.is_set():
            seen.handled.setdefault("after-failure", []).append([])
        if batch.partition == "2" and batch.events[0].sequence_number >= 100:
            failed_at.set()
            raise ConnectionError("storage went away")
        seen(batch)
    with pytest.raises(ConnectionError, match="storage went away"):
        deliver(batches(lines, batch_size=25), handle, concurrency=4)
    assert [n for b in seen.handled["2"] for n in b] == list(range(100))   # nothing of 2 after its failure
    # batches already in the trigger when it failed finish; no partition starts more than one more
    assert len(seen.handled.get("after-failure", [])) <= 3
    assert sum(len(b) for p, numbers in seen.handled.items() if p != "after-failure" for b in numbers) < 4000
