"""The usage-event generator, checked by reading its output with json/datetime only (not the project's parser)."""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import yaml

from chargeback.errors import InvalidMonth
from chargeback.usage.events import V1_FIELDS, V2_FIELDS
from devhost.generate.month import generate_month, write_events

MONTH = "2026-10"             # starts on a Thursday; 31 days, 9 weekend days
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
V1_TIMESTAMP = re.compile(r"^(1[0-2]|[1-9])/([1-9]|[12]\d|3[01])/\d{4} (1[0-2]|[1-9]):[0-5]\d:[0-5]\d (AM|PM)$")
V2_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def v2():
    return generate_month(MONTH, departments=6, events=20_000, fmt="v2", seed=7)


@pytest.fixture(scope="module")
def v1():
    return generate_month(MONTH, departments=5, events=8_000, fmt="v1", seed=11)


def parse_v2_time(text: str) -> datetime | None:
    if not V2_TIMESTAMP.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_v1_time(text: str) -> datetime | None:
    if not V1_TIMESTAMP.match(text):
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)
    except ValueError:
        return None


def chat_tokens(usage: dict) -> tuple[int, int, int, int]:
    """(prompt, cached, completion, reasoning) of any usage shape, read the way the reference describes it."""
    if usage.get("type") == "duration":
        return (0, 0, 0, 0)
    if "input_tokens" in usage:
        return (usage["input_tokens"], (usage.get("input_tokens_details") or {}).get("cached_tokens", 0),
                usage["output_tokens"], (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0))
    return (usage["prompt_tokens"], (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
            usage.get("completion_tokens", 0),
            (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)


def classify_v2(line: str) -> tuple[str | None, dict | None]:
    """(why it is bad or None, the event)."""
    try:
        event = json.loads(line)
    except ValueError:
        return "not_json", None
    if event.get("schemaVersion") != 2:
        return "unknown_schema", event
    if not event.get("subscriptionId"):
        return "missing_subscription", event
    if parse_v2_time(event["timestamp"]) is None:
        return "bad_timestamp", event
    if event["usage"] is not None and min((v for v in event["usage"].values() if isinstance(v, int)), default=0) < 0:
        return "negative_tokens", event
    return None, event


def classify_v1(line: str) -> tuple[str | None, dict | None]:
    try:
        event = json.loads(line)
    except ValueError:
        return "not_json", None
    if "schemaVersion" in event:
        return "unknown_schema", event
    if not event.get("appSubscriptionKey"):
        return "missing_subscription", event
    if parse_v1_time(event["timestamp"]) is None:
        return "bad_timestamp", event
    if min(int(event[f]) for f in ("promptTokens", "completionTokens", "totalTokens")) < 0:
        return "negative_tokens", event
    return None, event


def good_events(month, classify) -> list[dict]:
    return [event for kind, event in map(classify, month.lines) if kind is None]


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


# ---- modalities: voice bots, image generation, transcription, speech (issue 12)

TEXT_DEPLOYMENTS = {"gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-large", "gpt-4o-ptu"}
MODALITY_DEPLOYMENTS = {"gpt-4o-audio", "gpt-image-1", "gpt-4o-transcribe", "whisper", "tts-hd"}


def test_modalities_come_in_realistic_proportions(v2):
    calls = Counter(e["deploymentId"] for e in good_events(v2, classify_v2))
    share = sum(calls[d] for d in MODALITY_DEPLOYMENTS) / sum(calls.values())
    assert 0.10 <= share <= 0.35, share        # text still dominates; every modality is present
    assert min(calls[d] for d in MODALITY_DEPLOYMENTS) >= 100
    assert calls["gpt-4o-audio"] > calls["gpt-image-1"]   # voice bots are the biggest non-text workload


def test_modality_usage_objects_have_the_shapes_azure_sends(v2):
    for event in good_events(v2, classify_v2):
        usage, deployment = event["usage"], event["deploymentId"]
        if deployment == "gpt-4o-audio":
            prompt, completion = usage["prompt_tokens_details"], usage["completion_tokens_details"]
            assert prompt["audio_tokens"] > 0 and completion["audio_tokens"] > 0
            assert prompt["audio_tokens"] + prompt["text_tokens"] == usage["prompt_tokens"]
            assert completion["audio_tokens"] + completion["text_tokens"] == usage["completion_tokens"]
            assert prompt["cached_tokens"] <= prompt["text_tokens"]
        elif deployment == "gpt-image-1":
            details = usage["input_tokens_details"]
            assert details["text_tokens"] + details["image_tokens"] == usage["input_tokens"]
            assert usage["output_tokens"] in (272, 1056, 4160)
            assert (details["image_tokens"] > 0) == (event["path"] == "/images/edits")
        elif deployment == "gpt-4o-transcribe":
            details = usage["input_token_details"]
            assert usage["type"] == "tokens" and details["audio_tokens"] > 0
            assert details["audio_tokens"] + details["text_tokens"] == usage["input_tokens"]
        elif deployment == "whisper":
            assert set(usage) == {"type", "seconds"} and usage["type"] == "duration"
            assert 0 < usage["seconds"] <= 1500 and round(usage["seconds"], 2) == usage["seconds"]
        elif deployment == "tts-hd":
            assert usage is None and 1 <= event["inputCharacters"] <= 4096 and event["path"] == "/audio/speech"


def test_expected_meters_match_the_modality_lines_read_with_json_only(v2):
    sums = Counter()
    for event in good_events(v2, classify_v2):
        usage, deployment = event["usage"], event["deploymentId"]
        if deployment == "gpt-4o-audio":
            sums["voice audio in"] += usage["prompt_tokens_details"]["audio_tokens"]
            sums["voice audio out"] += usage["completion_tokens_details"]["audio_tokens"]
        elif deployment == "gpt-image-1":
            sums["image out"] += usage["output_tokens"]
            sums["image in"] += usage["input_tokens_details"]["image_tokens"]
        elif deployment == "whisper":
            sums["seconds"] += Decimal(str(usage["seconds"]))
        elif deployment == "tts-hd":
            sums["characters"] += event["inputCharacters"]
    by = v2.expected.by_deployment
    assert (by["gpt-4o-audio"].meters.audio_input, by["gpt-4o-audio"].meters.audio_output) == (
        sums["voice audio in"], sums["voice audio out"])
    assert (by["gpt-image-1"].meters.image_output, by["gpt-image-1"].meters.image_input) == (
        sums["image out"], sums["image in"])
    assert by["whisper"].meters.audio_seconds == sums["seconds"]
    assert by["tts-hd"].meters.characters == sums["characters"]


def test_the_config_prices_every_new_meter_as_design_md_writes_it(v2):
    prices = {p["deployment"]: {k: v for k, v in p.items() if k not in ("deployment", "effective_from")}
              for p in load_config(v2)["prices"] if p["effective_from"] == date(2026, 1, 1)}
    # DESIGN.md, "Meter rates", typed from the document:
    assert prices["gpt-4o-audio"] == {"unit": "1M", "input": 2.50, "cached_input": 1.25, "output": 10.00,
                                      "audio_input": 40.00, "cached_audio_input": 2.50, "audio_output": 80.00}
    assert prices["gpt-image-1"] == {"unit": "1M", "input": 5.00, "image_input": 10.00, "cached_image_input": 2.50,
                                     "image_output": 40.00}
    assert prices["whisper"] == {"audio_hour": 0.36}
    assert prices["tts-hd"] == {"unit": "1M", "characters": 30.00}


def test_a_v1_month_is_what_it_was_before_modalities(v1):
    """v1 months carry only the seed's text calls: the lines are byte for byte those of the generator before
    audio, image and speech were added (sha256 of the joined lines, taken from commit f2c3d68)."""
    digest = hashlib.sha256("\n".join(v1.lines).encode()).hexdigest()
    assert digest == "98ae743e704c09ed00ca0fac0b302de1fbd7e52bb49cb9187d82ce2a9e3aa256"


def load_config(month) -> dict:
    config = yaml.safe_load(month.config_yaml)
    assert config["currency"] == "USD" and config["admins"]
    for department in config["departments"]:
        assert re.fullmatch(r"[a-z0-9-]+", department["id"])
        assert 1 <= len(department["subscriptions"]) <= 3
        emails = department["owners"] + department["notify"]["email"] + config["admins"]
        assert all(e.endswith("@example.com") for e in emails)
    return config


def claimed(config: dict) -> set[str]:
    return {s for d in config["departments"] for s in d["subscriptions"]}


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
