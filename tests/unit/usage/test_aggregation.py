"""Streaming aggregation: groups, month edges, JSON round trips, merging partitions, flat memory."""
from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chargeback.errors import InvalidMonth
from chargeback.months import month_bounds
from chargeback.usage.aggregation import COLUMNS, MonthUsage, UsageKey, aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord


def record(at: datetime, subscription="sub-1", deployment="gpt-4o", model="gpt-4o-2024-08-06",
           prompt=0, cached=0, completion=0, reasoning=0, metered=True, n=0) -> UsageRecord:
    return UsageRecord(record_id=f"r{n}", timestamp=at, subscription=subscription, deployment=deployment,
                       model=model, prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion,
                       reasoning_tokens=reasoning, metered=metered)


def as_table(usage: MonthUsage) -> dict:
    return {(k.subscription, k.deployment, k.model, k.day): (t.requests, t.unmetered, t.prompt_tokens,
                                                             t.cached_tokens, t.completion_tokens, t.reasoning_tokens)
            for k, t in usage.groups()}


def test_records_are_summed_per_subscription_deployment_model_and_day():
    day3 = datetime(2026, 3, 3, 9, tzinfo=UTC)
    usage = aggregate_month("2026-03", [
        record(day3, prompt=1566, cached=1408, completion=68),
        record(day3 + timedelta(hours=14), prompt=20, completion=1843, reasoning=448),
        record(day3 + timedelta(days=1), prompt=5),
        record(day3, subscription="sub-2", prompt=7),
        record(day3, deployment="o3-mini", model="o3-mini", prompt=11),
        record(day3, model="gpt-4o-2024-11-20", prompt=13),
        record(day3, prompt=0, metered=False),
    ])
    assert as_table(usage) == {
        ("sub-1", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 3)): (3, 1, 1566 + 20, 1408, 68 + 1843, 448),
        ("sub-1", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 4)): (1, 0, 5, 0, 0, 0),
        ("sub-2", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 3)): (1, 0, 7, 0, 0, 0),
        ("sub-1", "o3-mini", "o3-mini", date(2026, 3, 3)): (1, 0, 11, 0, 0, 0),
        ("sub-1", "gpt-4o", "gpt-4o-2024-11-20", date(2026, 3, 3)): (1, 0, 13, 0, 0, 0),
    }
    assert len(usage) == 5 and usage.outside_month == 0


def test_only_the_month_counts_to_the_millisecond():
    usage = aggregate_month("2026-03", [
        record(datetime(2026, 2, 28, 23, 59, 59, 999000, tzinfo=UTC), prompt=1),
        record(datetime(2026, 3, 1, 0, 0, tzinfo=UTC), prompt=10),
        record(datetime(2026, 3, 31, 23, 59, 59, 999000, tzinfo=UTC), prompt=100),
        record(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), prompt=1000),
        record(datetime(2025, 3, 15, tzinfo=UTC), prompt=10000),    # same month, another year
    ])
    assert as_table(usage) == {
        ("sub-1", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 1)): (1, 0, 10, 0, 0, 0),
        ("sub-1", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 31)): (1, 0, 100, 0, 0, 0),
    }
    assert usage.outside_month == 3


def test_days_are_utc_days():
    plus_two = timezone(timedelta(hours=2))
    usage = aggregate_month("2026-03", [
        record(datetime(2026, 4, 1, 1, 0, tzinfo=plus_two), prompt=1),   # 2026-03-31 23:00 UTC
        record(datetime(2026, 3, 1, 1, 0, tzinfo=plus_two), prompt=2),   # 2026-02-28 23:00 UTC
    ])
    assert as_table(usage) == {("sub-1", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 31)): (1, 0, 1, 0, 0, 0)}
    assert usage.outside_month == 1


def test_december_ends_the_year():
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    usage = aggregate_month("2026-12", [record(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), prompt=3),
                                        record(datetime(2027, 1, 1, tzinfo=UTC), prompt=4)])
    assert [k.day for k, _ in usage.groups()] == [date(2026, 12, 31)] and usage.outside_month == 1


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-3", "26-03", "2026/03", "", "2026-03-01", None])
def test_a_month_must_be_yyyy_mm(month):
    with pytest.raises(InvalidMonth):
        MonthUsage(month)


def test_json_round_trip_is_compact_and_exact():
    usage = aggregate_month("2026-02", [
        record(datetime(2026, 2, 28, 12, tzinfo=UTC), subscription="sha256:" + "ab" * 32, deployment="", model="",
               prompt=1, completion=2),
        record(datetime(2026, 2, 1, tzinfo=UTC), prompt=10**12, cached=10**11, completion=3, reasoning=1),
        record(datetime(2026, 3, 1, tzinfo=UTC), prompt=9),
    ])
    text = usage.to_json()
    assert " " not in text and "\n" not in text
    doc = json.loads(text)
    assert doc["columns"] == list(COLUMNS) and doc["outside_month"] == 1 and doc["month"] == "2026-02"
    assert ["sub-1", "gpt-4o", "gpt-4o-2024-08-06", 1, 1, 0,
            {"input": 9 * 10**11, "cached_input": 10**11, "output": 3, "reasoning": 1}] in doc["groups"]
    again = MonthUsage.from_json(text)
    assert again == usage and as_table(again) == as_table(usage)


def test_json_round_trip_keeps_every_meter_exact():
    meters = MeterQuantities(input=1, cached_input=2, cache_write_input=3, audio_input=4, cached_audio_input=5,
                             image_input=6, cached_image_input=7, output=8, audio_output=9, image_output=10,
                             audio_seconds=Decimal("42.125"), characters=2**40, reasoning=4)
    at = datetime(2026, 2, 3, tzinfo=UTC)
    usage = aggregate_month("2026-02", [UsageRecord("a", at, "sub-1", "d", meters=meters),
                                        UsageRecord("b", at, "sub-1", "d", meters=meters)])
    doc = json.loads(usage.to_json())
    assert doc["groups"][0][6]["audio_seconds"] == "84.250"
    again = MonthUsage.from_json(usage.to_json())
    [(_, totals)] = list(again.groups())
    assert totals.meters == meters + meters and totals.meters.audio_seconds == Decimal("84.25")
    assert totals.requests == 2 and again == usage


def test_first_release_json_with_token_columns_still_loads_as_text_meters():
    doc = {"month": "2026-02", "outside_month": 2,
           "columns": ["subscription", "deployment", "model", "day", "requests", "unmetered",
                       "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens"],
           "groups": [["sub-1", "gpt-4o", "m", 4, 3, 1, 1000, 400, 60, 20]]}
    usage = MonthUsage.from_dict(doc)
    [(key, totals)] = list(usage.groups())
    assert key.day == date(2026, 2, 4) and (totals.requests, totals.unmetered) == (3, 1)
    assert totals.meters == MeterQuantities(input=600, cached_input=400, output=60, reasoning=20)
    assert (totals.prompt_tokens, totals.cached_tokens, totals.completion_tokens, totals.reasoning_tokens) == (
        1000, 400, 60, 20)
    assert usage.outside_month == 2


def test_from_dict_refuses_a_day_the_month_does_not_have():
    doc = json.loads(aggregate_month("2026-02", []).to_json())
    doc["groups"] = [["sub-1", "gpt-4o", "", 30, 1, 0, {"input": 1}]]
    with pytest.raises(ValueError, match="day is out of range"):
        MonthUsage.from_dict(doc)


def test_merging_partitions_equals_aggregating_everything():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    records = [record(start + timedelta(hours=3 * n), subscription=f"sub-{n % 3}", prompt=n, completion=2 * n,
                      cached=n // 2, metered=n % 11 != 0, n=n) for n in range(200)]
    records.append(record(datetime(2026, 4, 2, tzinfo=UTC), prompt=1))
    whole = aggregate_month("2026-03", records)
    east = aggregate_month("2026-03", records[0::2])
    west = MonthUsage.from_json(aggregate_month("2026-03", records[1::2]).to_json())
    assert east.merge(west) == whole
    assert sum(t.requests for _, t in whole.groups()) == 200 and whole.outside_month == 1


def test_merging_another_month_is_refused():
    with pytest.raises(ValueError, match="cannot merge usage of 2026-04 into 2026-03"):
        MonthUsage("2026-03").merge(MonthUsage("2026-04"))


def test_groups_come_in_a_stable_order():
    at = datetime(2026, 3, 5, tzinfo=UTC)
    usage = aggregate_month("2026-03", [record(at, subscription="b"), record(at - timedelta(days=1), subscription="b"),
                                        record(at, subscription="a")])
    assert [k for k, _ in usage.groups()] == [
        UsageKey("a", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 5)),
        UsageKey("b", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 4)),
        UsageKey("b", "gpt-4o", "gpt-4o-2024-08-06", date(2026, 3, 5))]


def test_memory_grows_with_groups_not_records():
    """60,000 records streamed from a generator into 4 groups: far less memory than holding the records."""
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def stream(count: int):
        for n in range(count):
            yield record(start + timedelta(seconds=n), subscription=f"sub-{n % 4}", prompt=n % 1000, n=n)

    tracemalloc.start()
    try:
        usage = aggregate_month("2026-03", stream(60_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(usage) == 4 and sum(t.requests for _, t in usage.groups()) == 60_000
    # Holding 60,000 UsageRecords would take > 10 MB; a streaming pass needs a few records at a time.
    assert peak < 1_000_000, peak
