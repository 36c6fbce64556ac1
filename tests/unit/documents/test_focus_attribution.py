"""FOCUS rows split by end user and tags (and gateway-log metering) within an invoice line (issue 15).

Figures worked out by hand in the comments; the rows are read back from the CSV as a FinOps tool would."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.documents import focus_attribution
from chargeback.documents.focus import render_focus_csv
from chargeback.usage import attribution_lines
from chargeback.usage.aggregation import MonthUsage, aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from tests.fixtures.invoice_inputs import meta

CONFIG = parse_config("""
currency: USD
departments:
  - {id: marketing, name: Marketing, cost_center: CC-1, subscriptions: [sub-mkt]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, output: 10.00}
pools:
  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 300.00, weights: {input: 1, output: 4}}
""")
DEPARTMENT = {"chargeback/costCenter": "CC-1", "chargeback/department": "marketing"}
HASHED = "hmac:" + "ab" * 32


def call(n: int, inp: int, out: int, deployment: str = "gpt-4o", user: str = "", tags: tuple[str, ...] = (),
         gateway: bool = False, day: int = 12) -> UsageRecord:
    return UsageRecord(f"r{n}", datetime(2026, 10, day, 9, tzinfo=UTC), "sub-mkt", deployment,
                       meters=MeterQuantities(input=inp, output=out), end_user=user, tags=tags,
                       schema_version=3 if gateway else 2, stream=gateway)


PAYG = [
    call(1, 1_000_000, 100_000, user="ann", tags=("app=web",)),   # 2.50 + 1.00
    call(2, 333_333, 0, user=HASHED),                              # 0.8333325 (an end user stored as its hash)
    call(3, 666_667, 0),                                           # no user, no tag: 1.6666675
    call(4, 500_000, 50_000, gateway=True),                        # from the gateway logs: 1.25 + 0.50
]
POOL = [call(5, 1_000, 500, "gpt-4o-ptu", user="ann"), call(6, 2_000, 0, "gpt-4o-ptu")]


def export(records: list[UsageRecord]) -> list[dict[str, str]]:
    usage = aggregate_month("2026-10", records)
    usage = MonthUsage.from_json(usage.to_json())   # as the run stores it between its steps
    data = render_focus_csv(price_month("2026-10", usage, CONFIG), meta(), usage.attribution.lines)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def usage_rows(rows: list[dict[str, str]], kind: str) -> list[tuple[str, str, str, Decimal, dict]]:
    return [(r["x_Meter"], r["ConsumedQuantity"], r["BilledCost"], Decimal(r["ListCost"]),
             {k: v for k, v in json.loads(r["Tags"]).items() if k not in DEPARTMENT})
            for r in rows if r["x_ChargeKind"] == kind]


def test_a_line_is_split_by_user_tags_and_gateway_logs_and_still_sums_to_the_line():
    rows = export(PAYG)
    # The line: input 2,500,000 x 2.50 = 6.25, output 150,000 x 10 = 1.50: 7.75.
    # Input 6.25 by quantity: ann 1,000,000 -> 2.50, the hash 333,333 -> 0.8333325, nobody 666,667 -> 1.6666675,
    # gateway 500,000 -> 1.25; floors 6.24, the cent to the largest remainder (nobody's .0066675): 1.67.
    # Output 1.50: ann 100,000 -> 1.00, gateway 50,000 -> 0.50 (nobody used none: no row).
    assert usage_rows(rows, "payg") == [
        ("input", "666667", "1.67", Decimal("1.6666675"), {}),
        ("input", "1000000", "2.50", Decimal("2.5"), {"app": "web", "chargeback/endUser": "ann"}),
        ("input", "333333", "0.83", Decimal("0.8333325"), {"chargeback/endUser": HASHED}),
        ("input", "500000", "1.25", Decimal("1.25"), {"chargeback/meteredBy": "gateway-logs"}),
        ("output", "100000", "1.00", Decimal(1), {"app": "web", "chargeback/endUser": "ann"}),
        ("output", "50000", "0.50", Decimal("0.5"), {"chargeback/meteredBy": "gateway-logs"}),
    ]
    payg = [r for r in rows if r["x_ChargeKind"] == "payg"]
    assert sum(Decimal(r["BilledCost"]) for r in payg) == Decimal("7.75") == Decimal(payg[0]["x_LineAmount"])
    assert [int(r["x_Requests"]) for r in payg] == [4, 0, 0, 0, 0, 0]   # the line's calls, counted once
    for row in payg:   # ListCost = ListUnitPrice x PricingQuantity on every part
        assert Decimal(row["ListCost"]) == Decimal(row["ListUnitPrice"]) * Decimal(row["PricingQuantity"])
    gateway = [r for r in payg if "gateway-logs" in r["Tags"]]
    assert all("cached input not discounted" in r["ChargeDescription"] for r in gateway)
    assert not any("cached" in r["ChargeDescription"] for r in payg if r not in gateway)


def test_a_pool_share_is_split_by_weighted_use():
    rows = export(POOL)
    # The pool's 300.00 all to marketing; weighted: input 3,000 x 1 = 3,000, output 500 x 4 = 2,000 (of 5,000):
    # input 180.00, output 120.00. Input by quantity: nobody 2,000 -> 120.00, ann 1,000 -> 60.00; output all ann's.
    assert [(m, q, b, t) for m, q, b, _l, t in usage_rows(rows, "pool-share")] == [
        ("input", "2000", "120.00", {}),
        ("input", "1000", "60.00", {"chargeback/endUser": "ann"}),
        ("output", "500", "120.00", {"chargeback/endUser": "ann"}),
    ]
    pool = [r for r in rows if r["x_ChargeKind"] == "pool-share"]
    assert [r["PricingQuantity"] for r in pool] == ["2000", "1000", "2000"]   # weighted quantities
    assert all(r["ListCost"] == r["BilledCost"] for r in pool)


def test_users_beyond_the_top_are_one_others_row(monkeypatch):
    monkeypatch.setattr(focus_attribution, "TOP_LABELS", 1)
    rows = usage_rows(export(PAYG), "payg")
    # ann (1,100,000 tokens) is the top label; the hash (333,333) is folded into the others row
    assert [(m, q, t) for m, q, _b, _l, t in rows][:4] == [
        ("input", "666667", {}), ("input", "1000000", {"app": "web", "chargeback/endUser": "ann"}),
        ("input", "333333", {"chargeback/attribution": "others"}), ("input", "500000",
                                                                     {"chargeback/meteredBy": "gateway-logs"})]


def test_labels_beyond_the_storage_bound_are_kept_folded(monkeypatch):
    monkeypatch.setattr(attribution_lines, "MAX_LABELS", 1)
    rows = usage_rows(export(PAYG), "payg")
    # ann arrives first and is kept; the hash's calls are counted, folded, never dropped
    assert ("input", "333333", "0.83", Decimal("0.8333325"), {"chargeback/attribution": "others"}) in rows
    assert sum(Decimal(b) for _m, _q, b, _l, _t in rows) == Decimal("7.75")


def test_without_attribution_the_export_is_as_before():
    plain = [call(3, 666_667, 0), call(7, 10, 10)]
    usage = aggregate_month("2026-10", plain)
    charges = price_month("2026-10", usage, CONFIG)
    assert render_focus_csv(charges, meta(), usage.attribution.lines) == render_focus_csv(charges, meta())
    assert "attribution_lines" not in usage.to_dict()


@pytest.mark.parametrize("day", [1, 31])
def test_a_price_period_takes_only_its_own_days(day):
    config = parse_config("""
currency: USD
departments:
  - {id: marketing, name: Marketing, cost_center: CC-1, subscriptions: [sub-mkt]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
  - {deployment: gpt-4o, effective_from: 2026-10-16, unit: 1M, input: 2.00, output: 8.00}
""")
    usage = aggregate_month("2026-10", [call(1, 1_000_000, 0, user="ann", day=day), call(2, 1_000_000, 0, day=10),
                                        call(3, 1_000_000, 0, day=20)])
    data = render_focus_csv(price_month("2026-10", usage, config), meta(), usage.attribution.lines)
    rows = [r for r in csv.DictReader(io.StringIO(data.decode("utf-8"))) if r["x_ChargeKind"] == "payg"]
    # ann's call is in the period of its day only: 2.50 before the 16th, 2.00 from it
    ann = [(r["x_PricePeriod"], r["BilledCost"]) for r in rows if "ann" in r["Tags"]]
    assert ann == ([("2026-10-01/2026-10-15", "2.50")] if day == 1 else [("2026-10-16/2026-10-31", "2.00")])
    assert sum(Decimal(r["BilledCost"]) for r in rows) == (Decimal("7.00") if day == 1 else Decimal("6.50"))
