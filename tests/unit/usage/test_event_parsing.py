"""Data-driven parser cases (tests/data/events/*.yaml) and the never-raise property."""
from __future__ import annotations

import contextlib
import json
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.errors import InvalidEvent
from chargeback.usage.events import RawEvent, parse_batch, parse_event
from chargeback.usage.record import UsageRecord

CASES_DIR = Path(__file__).resolve().parents[2] / "data" / "events"


def load_cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            yield pytest.param(case, id=f"{path.stem}: {case['name']}")


def body_of(case) -> bytes:
    if "raw" in case:
        return case["raw"].encode("utf-8")
    return json.dumps(case["body"]).encode("utf-8")


# A record's fields and their defaults: a case's `record` must list every field that differs from these.
DEFAULTS = {"deployment": "", "meters": {}, "metered": True, "stream": False, "model": "", "subscription_name": "",
            "product": "", "operation": "", "api_version": "", "region": "", "status_code": 200,
            "schema_version": 2, "path": "", "end_user": "", "tags": [], "served_deployment": ""}
WHOLE = ("record_id", "timestamp", "subscription", *DEFAULTS)


def whole_record(record) -> dict:
    """Every field of the record, comparable with a case (timestamp as ISO text, meters as their dict)."""
    fields = {name: getattr(record, name) for name in WHOLE}
    fields["timestamp"] = record.timestamp.isoformat()
    fields["meters"] = record.meters.to_dict()
    fields["tags"] = list(record.tags)
    return fields


@pytest.mark.parametrize("case", list(load_cases()))
def test_event_case(case):
    raw = RawEvent(body_of(case), partition="1", sequence_number=42)
    if "dead_letter" in case:
        with pytest.raises(InvalidEvent) as excinfo:
            parse_event(raw)
        assert case["dead_letter"] in str(excinfo.value)
        records, dead = parse_batch([raw])
        assert records == [] and len(dead) == 1 and case["dead_letter"] in dead[0].reason
    else:
        record = parse_event(raw)
        expected = case["record"]
        assert whole_record(record) == {**DEFAULTS, **{k: v for k, v in expected.items() if k in WHOLE}}
        for derived in set(expected) - set(WHOLE):    # properties a case also checks (month, prompt_tokens ...)
            assert getattr(record, derived) == expected[derived], derived


def test_whole_record_covers_every_field_of_a_record():
    assert set(WHOLE) == {f.name for f in fields(UsageRecord)}


def test_v1_record_id_depends_on_partition_sequence_and_body():
    body = json.dumps({"timestamp": "10/7/2026 3:15:00 PM", "appSubscriptionKey": "k",
                       "promptTokens": "1", "completionTokens": "1", "totalTokens": "2"}).encode()
    first = parse_event(RawEvent(body, "0", 7)).record_id
    assert parse_event(RawEvent(body, "0", 7)).record_id == first  # redelivery: the same row
    assert parse_event(RawEvent(body, "0", 8)).record_id != first  # another call with equal figures
    assert parse_event(RawEvent(body, "1", 7)).record_id != first


def test_dead_letter_keeps_coordinates_and_scrubs_the_key():
    raw_key = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    body = '{"timestamp": "31/10/2026 10:00:00", "appSubscriptionKey": "' + raw_key + '", "promptTokens": "1"}'
    records, dead = parse_batch([RawEvent(body.encode(), "3", 99, "1234")])
    assert records == []
    (letter,) = dead
    assert (letter.partition, letter.sequence_number, letter.offset) == ("3", 99, "1234")
    assert raw_key not in letter.body and "unparseable timestamp" in letter.reason
    assert "sha256:" in letter.body


def test_key_is_scrubbed_even_from_broken_json():
    raw_key = "ffffeeeeddddccccbbbbaaaa99998888"
    body = '{"appSubscriptionKey": "' + raw_key + '", "promptTokens": '
    (_, dead) = parse_batch([RawEvent(body.encode(), "0", 1)])
    assert raw_key not in dead[0].body and dead[0].reason == "body is not JSON"


def test_non_utf8_body_is_kept_as_base64():
    (_, dead) = parse_batch([RawEvent(b"\xff\xfe\x00garbage", "0", 1)])
    assert dead[0].body_encoding == "base64" and dead[0].reason == "body is not UTF-8 text"


def test_a_good_batch_with_a_bad_event_keeps_the_good_ones():
    good = json.dumps({"schemaVersion": 2, "requestId": "r1", "timestamp": "2026-10-01T00:00:00Z",
                       "subscriptionId": "s", "usage": {"prompt_tokens": 3}}).encode()
    records, dead = parse_batch([RawEvent(good), RawEvent(b"nope"), RawEvent(good.replace(b"r1", b"r2"))])
    assert [r.record_id for r in records] == ["r1", "r2"] and len(dead) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {}, optional={"schemaVersion": st.sampled_from([1, 2, "2", None, True]), "requestId": json_values,
                  "timestamp": st.sampled_from(["2026-10-01T00:00:00Z", "10/7/2026 3:15:00 PM", ""]) | json_values,
                  "subscriptionId": json_values, "appSubscriptionKey": json_values, "usage": json_values,
                  "promptTokens": json_values, "completionTokens": json_values, "stream": json_values,
                  "deploymentId": json_values, "path": json_values, "inputCharacters": json_values})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_invalid_event(data):
    with contextlib.suppress(InvalidEvent):
        parse_event(RawEvent(data))
    records, dead = parse_batch([RawEvent(data)])
    assert len(records) + len(dead) == 1


@settings(max_examples=400, deadline=None)
@given(event_like)
def test_arbitrary_event_shaped_json_is_parsed_or_dead_lettered_cleanly(doc):
    try:
        record = parse_event(RawEvent(json.dumps(doc).encode()))
    except InvalidEvent:
        return
    assert min(record.prompt_tokens, record.cached_tokens, record.completion_tokens, record.reasoning_tokens) >= 0
    assert record.cached_tokens <= record.prompt_tokens
    assert record.reasoning_tokens <= record.completion_tokens
    assert record.timestamp.utcoffset().total_seconds() == 0
    assert all(quantity >= 0 for quantity in record.meters.values())
