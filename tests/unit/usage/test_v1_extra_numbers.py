"""A v1 event may carry fields this product does not read; a fractional number among them is no reason to refuse."""
from __future__ import annotations

import json

from chargeback.usage.events import RawEvent, dead_letter, parse_event


def v1(**extra: object) -> bytes:
    doc = {"timestamp": "10/7/2026 3:15:00 PM", "appSubscriptionKey": "k-0001", "promptTokens": "10",
           "completionTokens": "5", "totalTokens": "15", **extra}
    return json.dumps(doc).encode()


def test_a_v1_event_with_a_fractional_extra_field_is_stored_with_its_counts():
    record = parse_event(RawEvent(v1(latencySeconds=0.25, ratio=1e-3), "1", 42))
    assert (record.prompt_tokens, record.completion_tokens) == (10, 5)
    assert record.record_id.startswith("v1-")


def test_the_id_depends_on_the_fractional_value_and_is_stable():
    first = parse_event(RawEvent(v1(latencySeconds=0.25), "1", 42)).record_id
    again = parse_event(RawEvent(v1(latencySeconds=0.25), "1", 42)).record_id
    other = parse_event(RawEvent(v1(latencySeconds=0.5), "1", 42)).record_id
    assert first == again != other


def test_a_dead_lettered_v1_event_with_a_fraction_replays_to_the_same_id():
    raw = RawEvent(v1(latencySeconds=0.25, promptTokens="-1"), "3", 9, "90")
    letter = dead_letter(raw, "reason")
    replayed = parse_event(RawEvent(letter.body.replace('"-1"', '"10"').encode(), "3", 9, "90", key_scrubbed=True))
    direct = parse_event(RawEvent(v1(latencySeconds=0.25), "3", 9, "90"))
    assert replayed.record_id == direct.record_id
