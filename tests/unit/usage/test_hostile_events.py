"""Issue 11: events a hostile or unlucky sender writes; each is refused or kept exactly, never mis-billed."""
from __future__ import annotations

import hashlib
import json

import pytest

from chargeback.errors import InvalidEvent
from chargeback.usage.events import RawEvent, dead_letter, parse_event

SALES_KEY = "sales-raw-key-0001"
SALES_FINGERPRINT = "sha256:" + hashlib.sha256(SALES_KEY.encode()).hexdigest()


def v1(key: str, **extra) -> bytes:
    doc = {"timestamp": "10/7/2026 3:15:00 PM", "appSubscriptionKey": key, "promptTokens": "10",
           "completionTokens": "5", "totalTokens": "15", **extra}
    return json.dumps(doc).encode()


def test_a_v1_key_that_looks_like_a_fingerprint_is_hashed_not_taken_as_that_fingerprint():
    record = parse_event(RawEvent(v1(SALES_FINGERPRINT), "0", 1))
    assert record.subscription != SALES_FINGERPRINT
    assert record.subscription == "sha256:" + hashlib.sha256(SALES_FINGERPRINT.encode()).hexdigest()


def test_a_dead_lettered_v1_event_replays_to_its_own_fingerprint_and_id():
    raw = RawEvent(v1(SALES_KEY, promptTokens="-1"), "2", 7, "70")   # refused: negative count
    letter = dead_letter(raw, "reason")
    assert SALES_KEY not in letter.body and SALES_FINGERPRINT in letter.body
    fixed = letter.body.replace('"-1"', '"10"')
    replayed = parse_event(RawEvent(fixed.encode(), "2", 7, "70", key_scrubbed=True))
    direct = parse_event(RawEvent(v1(SALES_KEY), "2", 7, "70"))
    assert replayed.subscription == direct.subscription == SALES_FINGERPRINT
    assert replayed.record_id == direct.record_id


def test_a_scrubbed_body_hashes_a_fingerprint_shaped_key_too():
    letter = dead_letter(RawEvent(v1(SALES_FINGERPRINT, timestamp="bad"), "0", 1), "reason")
    assert SALES_FINGERPRINT not in letter.body


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("statusCode", 2**40, "statusCode must be an HTTP status"),
    ("statusCode", -1, "statusCode must be an HTTP status"),
    ("subscriptionId", "s" * 257, "subscriptionId is longer than 256"),
    ("timestamp", "1999-12-31T23:59:59Z", "outside the invoiceable years 2000-2999"),
    ("timestamp", "3000-01-01T00:00:00Z", "outside the invoiceable years"),
    ("timestamp", "1600-01-01T00:00:00Z", "outside the invoiceable years"),
    ("usage", {"prompt_tokens": 1_000_000_001, "completion_tokens": 0}, "implausible usage"),
])
def test_v2_values_storage_could_not_hold_or_never_invoice_are_refused(field, value, reason):
    doc = {"schemaVersion": 2, "requestId": "r1", "timestamp": "2026-10-03T14:05:09Z", "subscriptionId": "s",
           "usage": {"prompt_tokens": 1, "completion_tokens": 1}, field: value}
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(RawEvent(json.dumps(doc).encode()))


def test_the_cap_is_inclusive_and_v1_twelve_digit_counts_above_it_are_implausible():
    doc = {"schemaVersion": 2, "requestId": "r1", "timestamp": "2026-10-03T14:05:09Z", "subscriptionId": "s",
           "usage": {"prompt_tokens": 1_000_000_000, "completion_tokens": 0}}
    assert parse_event(RawEvent(json.dumps(doc).encode())).prompt_tokens == 1_000_000_000
    with pytest.raises(InvalidEvent, match="implausible usage"):
        parse_event(RawEvent(v1("k", promptTokens="999999999999"), "0", 1))
