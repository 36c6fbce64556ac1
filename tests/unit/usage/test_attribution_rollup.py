"""The attribution rollup: top users and tags per department, the rest in (others), bounded per subscription."""
from __future__ import annotations

from datetime import UTC, datetime

from chargeback.usage import attribution_rollup
from chargeback.usage.aggregation import MonthUsage, aggregate_month
from chargeback.usage.attribution_rollup import OTHERS, AttributionRow
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord

AT = datetime(2026, 5, 3, tzinfo=UTC)


def _call(n: int, subscription: str, tokens: int, user: str = "", tags: tuple[str, ...] = ()) -> UsageRecord:
    return UsageRecord(record_id=f"r{n}", timestamp=AT, subscription=subscription, deployment="gpt-4o",
                       meters=MeterQuantities(input=tokens), end_user=user, tags=tags)


DEPARTMENTS = {"sub-a": "alpha", "sub-a2": "alpha", "sub-b": "beta"}.__getitem__


def test_top_n_then_others_sum_to_every_attributed_call():
    records = [_call(1, "sub-a", 500, "u1", ("app=x",)), _call(2, "sub-a2", 300, "u2"), _call(3, "sub-a", 200, "u3"),
               _call(4, "sub-a", 100, "u3"), _call(5, "sub-a", 50, "u4"), _call(6, "sub-b", 7, "u1"),
               _call(7, "sub-a", 999)]   # no user, no tag: in no row
    usage = aggregate_month("2026-05", records)
    top = usage.attribution.top_by_department(DEPARTMENTS, n=2)
    # alpha users by tokens: u1 500, u2 300 (another subscription of alpha), u3 200 + 100 = 300 (ties with u2 on
    # tokens, 2 requests beat 1), u4 50: top 2 = u1, u3; others = u2 + u4 = 350 tokens in 2 requests
    assert top["alpha"] == [AttributionRow("user", "u1", 1, 500), AttributionRow("user", "u3", 2, 300),
                            AttributionRow("user", OTHERS, 2, 350), AttributionRow("tag", "app=x", 1, 500)]
    assert top["beta"] == [AttributionRow("user", "u1", 1, 7)]


def test_labels_beyond_the_bound_are_counted_under_others(monkeypatch):
    monkeypatch.setattr(attribution_rollup, "MAX_LABELS", 2)
    usage = aggregate_month("2026-05", [_call(n, "sub-a", 10 * n, f"u{n}") for n in range(1, 5)])
    rows = usage.attribution.to_rows()
    # u1 and u2 kept; u3 (30) and u4 (40) arrive past the bound: others 70 tokens in 2 requests
    assert rows == [["sub-a", "user", OTHERS, 2, 70], ["sub-a", "user", "u1", 1, 10], ["sub-a", "user", "u2", 1, 20]]


def test_the_rollup_survives_json_and_merges_and_is_absent_without_attribution():
    usage = aggregate_month("2026-05", [_call(1, "sub-a", 5, "u1", ("app=x", "team=y"))])
    again = MonthUsage.from_json(usage.to_json())
    assert again == usage and again.attribution.to_rows() == usage.attribution.to_rows()
    merged = MonthUsage("2026-05").merge(again).merge(again)
    assert merged.attribution.to_rows() == [["sub-a", "tag", "app=x", 2, 10], ["sub-a", "tag", "team=y", 2, 10],
                                            ["sub-a", "user", "u1", 2, 10]]
    assert "attribution" not in aggregate_month("2026-05", [_call(1, "sub-a", 5)]).to_dict()
