"""Attributed usage per invoice line (usage/attribution_lines.py): kept per subscription, deployment, day and
label; partitions merge to the whole month; the stored JSON reads back; bounded, never dropped."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from chargeback.usage import attribution_lines
from chargeback.usage.aggregation import MonthUsage, aggregate_month
from chargeback.usage.attribution_lines import Label, LabelUsage
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord

DEPARTMENT = {"sub-a": "alpha", "sub-b": "beta"}.__getitem__


def call(n: int, subscription: str = "sub-a", user: str = "", tags: tuple[str, ...] = (), day: int = 3,
         deployment: str = "gpt-4o", served: str = "", gateway: bool = False, inp: int = 100,
         at: datetime | None = None) -> UsageRecord:
    return UsageRecord(f"r{n}", at or datetime(2026, 5, day, 12, tzinfo=UTC), subscription, deployment,
                       meters=MeterQuantities(input=inp, output=n), end_user=user, tags=tags,
                       served_deployment=served, schema_version=3 if gateway else 2)


RECORDS = [call(1, user="u1", tags=("app=x",)), call(2, user="u1", tags=("app=x",), day=20), call(3, user="u2"),
           call(4), call(5, gateway=True), call(6, tags=("app=y",), deployment="gpt-4o-ptu", served="gpt-4o"),
           call(7, "sub-b", user="u1", gateway=True)]


def test_each_label_per_line_and_days_in_range():
    lines = aggregate_month("2026-05", RECORDS).attribution.lines
    # sub-a, gpt-4o, not spilled, days 1-10: u1+app=x (call 1), u2 (3), the gateway call (5); call 4 named nobody
    assert lines.for_line(("sub-a",), "gpt-4o", date(2026, 5, 1), date(2026, 5, 10), "") == [
        LabelUsage(Label(gateway_logs=True), 1, MeterQuantities(input=100, output=5)),
        LabelUsage(Label("u1", ("app=x",)), 1, MeterQuantities(input=100, output=1)),
        LabelUsage(Label("u2"), 1, MeterQuantities(input=100, output=3))]
    # the whole month: call 2 (day 20) joins u1's; the spilled call 6 is on its own line (spilled from gpt-4o-ptu)
    month = lines.for_line(("sub-a",), "gpt-4o", date(2026, 5, 1), date(2026, 5, 31), "")
    assert [(u.label.end_user, u.requests, u.meters.output) for u in month if u.label.end_user == "u1"] == [
        ("u1", 2, 3)]
    assert lines.for_line(("sub-a",), "gpt-4o", date(2026, 5, 1), date(2026, 5, 31), "gpt-4o-ptu") == [
        LabelUsage(Label(tags=("app=y",)), 1, MeterQuantities(input=100, output=6))]
    # None: any spilled_from (a pool line takes its deployment's calls whatever was called)
    assert len(lines.for_line(("sub-a",), "gpt-4o", date(2026, 5, 1), date(2026, 5, 31))) == 4
    assert lines.gateway_calls(DEPARTMENT) == {"alpha": {"gpt-4o": 1}, "beta": {"gpt-4o": 1}}


def test_partitions_merge_to_the_month_and_the_json_reads_back():
    whole = aggregate_month("2026-05", RECORDS)
    merged = MonthUsage("2026-05")
    for part in (RECORDS[:3], RECORDS[3:5], RECORDS[5:]):
        merged.merge(MonthUsage.from_json(aggregate_month("2026-05", part).to_json()))
    assert merged == whole and merged.attribution.lines.to_rows() == whole.attribution.lines.to_rows()
    assert MonthUsage.from_json(whole.to_json()).attribution.lines == whole.attribution.lines
    assert len(whole.to_dict()["attribution_lines"]) == 6   # call 1 and 2 differ by day: 6 cells of 7 calls


def test_an_offset_stamp_counts_on_its_utc_day():
    at = datetime(2026, 5, 4, 1, tzinfo=timezone(timedelta(hours=3)))   # 3 May 22:00 UTC
    lines = aggregate_month("2026-05", [call(1, user="u1", at=at)]).attribution.lines
    assert lines.for_line(("sub-a",), "gpt-4o", date(2026, 5, 3), date(2026, 5, 3), "")[0].requests == 1


def test_labels_beyond_the_bound_are_folded_never_dropped(monkeypatch):
    monkeypatch.setattr(attribution_lines, "MAX_LABELS", 2)
    lines = aggregate_month("2026-05", [call(n, user=f"u{n}") for n in range(1, 6)]).attribution.lines
    found = lines.for_line(("sub-a",), "gpt-4o", date(2026, 5, 1), date(2026, 5, 31), "")
    # u1, u2 kept; u3..u5 folded: 3 calls, output 3 + 4 + 5 (sorted by label: the folded one first)
    assert [(u.label, u.requests, u.meters.output) for u in found] == [
        (Label(folded=True), 3, 12), (Label("u1"), 1, 1), (Label("u2"), 1, 2)]


def test_calls_that_name_nobody_and_are_not_from_the_gateway_logs_are_not_kept():
    assert not aggregate_month("2026-05", [call(1), call(2)]).attribution.lines
