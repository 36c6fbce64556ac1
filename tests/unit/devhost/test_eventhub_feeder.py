"""Issue 11: the local Event Hub feeder hands every line to the trigger, streaming the file."""
from __future__ import annotations

import itertools
import json

from chargeback.usage.events import RawEvent, parse_batch
from devhost.eventhub import batches

DEEP = "[" * 100_000 + "]" * 100_000


def v2(i: int) -> str:
    return json.dumps({"schemaVersion": 2, "requestId": f"r-{i}", "timestamp": "2026-10-03T14:05:09Z",
                       "subscriptionId": "s", "usage": {"prompt_tokens": 1, "completion_tokens": 1}})


def test_a_100000_deep_line_is_handed_over_like_any_other_and_set_aside():
    lines = [v2(1), DEEP, v2(2), '{"a": ' + DEEP + "}"]
    handed = [e for b in batches(lines, batch_size=10) for e in b.events]
    assert sorted(e.get_body().decode() for e in handed) == sorted(lines)
    records, dead = parse_batch([RawEvent(e.get_body(), "0", e.sequence_number) for e in handed])
    assert len(records) == 2 and [d.reason for d in dead] == ["body is not JSON"] * 2


def test_batches_stream_a_file_rather_than_hold_it_all():
    endless = (v2(i) for i in itertools.count())
    first = next(batches(endless, batch_size=50, partitions=1))
    assert [e.sequence_number for e in first.events] == list(range(50))


def test_sequence_numbers_stay_stable_per_partition_across_batches():
    lines = [v2(i) for i in range(1000)]
    numbers: dict[str, list[int]] = {}
    for batch in batches(lines, batch_size=64):
        numbers.setdefault(batch.partition, []).extend(e.sequence_number for e in batch.events)
    assert sum(len(n) for n in numbers.values()) == 1000
    assert all(n == list(range(len(n))) for n in numbers.values())
    again = {b.partition + str(e.sequence_number): e.get_body() for b in batches(lines, 64) for e in b.events}
    assert again == {b.partition + str(e.sequence_number): e.get_body() for b in batches(lines, 64) for e in b.events}
