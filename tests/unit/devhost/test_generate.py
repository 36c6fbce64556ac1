"""The usage-event generator, checked by reading its output with json/datetime only (not the project's parser)."""
from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

from chargeback.errors import InvalidMonth
from chargeback.usage.events import V1_FIELDS, V2_FIELDS
from devhost.generate.month import generate_month, write_events
from tests.unit.devhost.generated import (
    END,
    MODALITY_DEPLOYMENTS,
    MONTH,
    START,
    TEXT_DEPLOYMENTS,
    chat_tokens,
    claimed,
    classify_v1,
    classify_v2,
    good_events,
    load_config,
    parse_v1_time,
    parse_v2_time,
)


def test_line_count_and_bad_events_are_what_expected_says(v2, v1):
    for month, classify, events in ((v2, classify_v2, 20_000), (v1, classify_v1, 8_000)):
        assert len(month.lines) == events == month.expected.events
        assert not any("\n" in line for line in month.lines)
        kinds = Counter(kind for kind, _ in map(classify, month.lines) if kind)
        assert sum(kinds.values()) == month.expected.bad == events // 500   # 0.2%
        assert month.expected.good == events - month.expected.bad
        assert set(kinds) == {"not_json", "negative_tokens", "missing_subscription", "bad_timestamp",
                              "unknown_schema"}
        assert kinds == Counter(month.expected.bad_kinds)


def test_good_v2_events_carry_the_contract_fields_inside_the_month(v2):
    events = good_events(v2, classify_v2)
    assert len(events) == v2.expected.good
    for event in events:
        assert set(event) == V2_FIELDS
        assert START <= parse_v2_time(event["timestamp"]) < END
        assert event["statusCode"] == 200 and event["region"] == "East US"
        assert re.fullmatch(r"[a-z0-9.-]+", event["model"])
    text = [e for e in events if e["deploymentId"] in TEXT_DEPLOYMENTS and e["operationId"] != "Responses_Create"]
    assert Counter(e["apiVersion"] for e in text) == {"2024-10-21": len(text)}
    assert "gpt-4o-2024-08-06" in {e["model"] for e in events}
    assert {e["deploymentId"] for e in events} == TEXT_DEPLOYMENTS | MODALITY_DEPLOYMENTS
    assert {e["path"] for e in events} == {"/chat/completions", "/embeddings", "/responses", "/images/generations",
                                           "/images/edits", "/audio/transcriptions", "/audio/speech"}
    assert all((e["inputCharacters"] is None) == (e["path"] != "/audio/speech") for e in events)


def test_v1_events_are_the_seed_format(v1):
    events = good_events(v1, classify_v1)
    assert len(events) == v1.expected.good
    for event in events:
        assert set(event) == V1_FIELDS
        assert START <= parse_v1_time(event["timestamp"]) < END
        assert re.fullmatch(r"[0-9a-f]{32}", event["appSubscriptionKey"])
        prompt, completion, total = (event[f] for f in ("promptTokens", "completionTokens", "totalTokens"))
        assert all(isinstance(v, str) for v in (prompt, completion, total))
        assert int(prompt) + int(completion) == int(total)
    # Noon and midnight are where a hand-rolled 12-hour clock goes wrong.
    stamps = [e["timestamp"] for e in events]
    assert any(" 12:" in s and s.endswith("PM") for s in stamps)
    assert any(" 12:" in s and s.endswith("AM") for s in stamps)
    assert not any(" 0:" in s or " 13:" in s for s in stamps)


def test_weekdays_and_business_hours_are_busier(v2):
    times = [parse_v2_time(e["timestamp"]) for e in good_events(v2, classify_v2)]
    weekend_days = sum(1 for d in range(1, 32) if datetime(2026, 10, d).weekday() >= 5)
    weekend = sum(t.weekday() >= 5 for t in times) / weekend_days
    weekday = sum(t.weekday() < 5 for t in times) / (31 - weekend_days)
    assert weekday > 3 * weekend
    business = sum(9 <= t.hour < 17 for t in times) / 8
    night = sum(t.hour < 5 for t in times) / 5
    assert business > 5 * night
    assert times == sorted(times)   # the policy logs as calls happen


def test_usage_objects_are_realistic(v2):
    events = [e for e in good_events(v2, classify_v2) if e["deploymentId"] in TEXT_DEPLOYMENTS]
    cached_seen = reasoning_seen = null_details = 0
    for event in events:
        usage = event["usage"]
        if usage is None:
            assert event["stream"] is True
            continue
        if event["deploymentId"] == "text-embedding-3-large":
            assert set(usage) == {"prompt_tokens", "total_tokens"}
            assert usage["prompt_tokens"] == usage["total_tokens"] > 0
            continue
        prompt, cached, completion, reasoning = chat_tokens(usage)
        assert usage["total_tokens"] == prompt + completion
        assert 0 <= cached <= prompt and cached % 128 == 0
        assert cached == 0 or cached >= 1024
        assert 0 <= reasoning <= completion
        if reasoning:
            assert event["deploymentId"] == "o3-mini"
        if event["operationId"] == "Responses_Create":
            assert "prompt_tokens" not in usage and not event["stream"]
        null_details += usage.get("prompt_tokens_details", {}) is None
        cached_seen += cached > 0
        reasoning_seen += reasoning > 0
    assert cached_seen and reasoning_seen and null_details
    assert any(e["operationId"] == "Responses_Create" for e in events)
    streams = [e for e in events if e["stream"]]
    unmetered = sum(e["usage"] is None for e in streams)
    assert unmetered == v2.expected.unmetered > 0
    assert unmetered < 0.05 * len(streams)   # streams mostly carry their final chunk's usage


def test_request_ids_are_unique_uuid4(v2):
    ids = [e["requestId"] for e in good_events(v2, classify_v2)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 for i in ids[:500])


def as_rows(month) -> dict[str, list[int]]:
    return {sub: [t.calls, t.unmetered, t.prompt_tokens, t.cached_tokens, t.completion_tokens, t.reasoning_tokens]
            for sub, t in month.expected.by_subscription.items()}


def test_expected_totals_match_the_v2_lines(v2):
    totals: dict[str, list[int]] = {}
    for event in good_events(v2, classify_v2):
        row = totals.setdefault(event["subscriptionId"], [0, 0, 0, 0, 0, 0])
        row[0] += 1
        if event["usage"] is None:
            row[1] += event["inputCharacters"] is None   # speech has no usage, but is metered by characters
        else:
            for i, value in enumerate(chat_tokens(event["usage"]), start=2):
                row[i] += value
    assert totals == as_rows(v2)
    assert sum(t.calls for t in v2.expected.by_deployment.values()) == v2.expected.good


def test_expected_totals_match_the_v1_lines(v1):
    # v1 carries no details: nothing cached or reasoned is known, and subscriptions are key fingerprints.
    totals: dict[str, list[int]] = {}
    for event in good_events(v1, classify_v1):
        key = "sha256:" + hashlib.sha256(event["appSubscriptionKey"].encode()).hexdigest()
        row = totals.setdefault(key, [0, 0, 0, 0, 0, 0])
        row[0] += 1
        row[2] += int(event["promptTokens"])
        row[4] += int(event["completionTokens"])
    assert totals == as_rows(v1)


def test_same_seed_same_lines_other_seed_other_lines():
    first = generate_month("2027-02", departments=3, events=1500, seed=3)
    again = generate_month("2027-02", departments=3, events=1500, seed=3)
    other = generate_month("2027-02", departments=3, events=1500, seed=4)
    assert first.lines == again.lines and first.config_yaml == again.config_yaml
    assert first.lines != other.lines
    v1_first = generate_month("2027-02", departments=3, events=1500, fmt="v1", seed=3)
    assert v1_first.lines == generate_month("2027-02", departments=3, events=1500, fmt="v1", seed=3).lines


def test_v2_config_claims_every_subscription_but_the_unallocated_one(v2):
    config = load_config(v2)
    assert len(config["departments"]) == 6
    seen = {e["subscriptionId"] for e in good_events(v2, classify_v2)}
    assert seen - claimed(config) == {v2.expected.unallocated_subscription}
    gpt4o = sorted((p for p in config["prices"] if p["deployment"] == "gpt-4o"), key=lambda p: p["effective_from"])
    assert [str(p["effective_from"]) for p in gpt4o] == ["2026-01-01", "2026-10-16"]
    assert gpt4o[0]["input"] != gpt4o[1]["input"]
    priced = {p["deployment"] for p in config["prices"]}
    assert {e["deploymentId"] for e in good_events(v2, classify_v2)} == priced | {"gpt-4o-ptu"}
    assert [p["deployment"] for p in config["pools"]] == ["gpt-4o-ptu"]


def test_v1_config_lists_key_fingerprints(v1):
    config = load_config(v1)
    keys = {e["appSubscriptionKey"] for e in good_events(v1, classify_v1)}
    fingerprints = {"sha256:" + hashlib.sha256(k.encode()).hexdigest() for k in keys}
    assert fingerprints - claimed(config) == {v1.expected.unallocated_subscription}
    assert not any(k in v1.config_yaml for k in keys)   # the raw keys never reach the config


def test_two_hundred_departments():
    month = generate_month("2028-02", departments=200, events=3000, seed=1)
    config = load_config(month)
    ids = [d["id"] for d in config["departments"]]
    assert len(ids) == len(set(ids)) == 200
    assert ids[0] == "marketing" and "dept-200" in ids
    for kind, event in map(classify_v2, month.lines):   # a leap February
        if kind is None:
            assert datetime(2028, 2, 1, tzinfo=UTC) <= parse_v2_time(event["timestamp"]) \
                < datetime(2028, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(("events", "bad_events", "bad"), [(1000, None, 3), (999, None, 1), (2000, 0, 0), (50, 7, 7)])
def test_bad_event_count(events, bad_events, bad):
    month = generate_month(MONTH, departments=2, events=events, bad_events=bad_events)
    assert sum(classify_v2(line)[0] is not None for line in month.lines) == bad == month.expected.bad


def test_write_events_streams_the_same_month(tmp_path, v1):
    expected = write_events(tmp_path / "events.jsonl", MONTH, departments=5, events=8_000, fmt="v1", seed=11,
                            config_path=tmp_path / "config.yaml")
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines() == v1.lines
    assert (tmp_path / "config.yaml").read_text(encoding="utf-8") == v1.config_yaml
    assert expected.bad == v1.expected.bad and expected.by_subscription == v1.expected.by_subscription


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "october", ""])
def test_refuses_a_month_that_is_not_yyyy_mm(month):
    with pytest.raises(InvalidMonth):
        generate_month(month, events=10)


def test_refuses_unknown_format_and_impossible_counts():
    with pytest.raises(ValueError, match="fmt must be one of"):
        generate_month(MONTH, events=10, fmt="v3")
    with pytest.raises(ValueError, match="bad_events"):
        generate_month(MONTH, events=10, bad_events=11)
