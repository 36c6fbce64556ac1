"""Forecast, budget thresholds and the month-to-date split, with figures worked out by hand."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chargeback.billing.forecast import forecast_payg, forecast_total, run_rates
from chargeback.billing.mtd_cells import CAPACITY, month_to_date
from chargeback.billing.pricing import price_month
from chargeback.config.budget import Budget
from chargeback.config.loading import parse_config
from chargeback.errors import InvalidConfig
from chargeback.notices.budget_alert import threshold_kind
from chargeback.usage.aggregation import MonthUsage, aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from chargeback.workflow.budget_alerts import alerts_due

D = Decimal
# November 2026: Sunday the 1st; weekends 1, 7, 8, 14, 15, 21, 22, 28, 29 (9 days), 21 weekdays.
NOV = {date(2026, 11, 1): D(2), date(2026, 11, 2): D(10), date(2026, 11, 3): D(20), date(2026, 11, 4): D(30)}


def test_calendar_the_figures_assume():
    assert date(2026, 11, 1).strftime("%A") == "Sunday" and date(2026, 11, 5).strftime("%A") == "Thursday"


def test_run_rates_are_the_means_per_kind_of_complete_day():
    assert run_rates(NOV, date(2026, 11, 1), date(2026, 11, 5)) == (D(20), D(2))   # (10+20+30)/3 ; Sunday 2


def test_forecast_weekday_aware():
    # so far 2+10+20+30 + today's 5 = 67; rest of Thursday 20-5 = 15; days 6..30: 17 weekdays x 20 = 340,
    # 8 weekend days (7, 8, 14, 15, 21, 22, 28, 29) x 2 = 16: 67 + 15 + 340 + 16 = 438.
    assert forecast_payg({**NOV, date(2026, 11, 5): D(5)}, "2026-11", date(2026, 11, 5)) == D(438)


def test_a_day_already_above_its_rate_is_not_lowered():
    # today 25 > rate 20: nothing more for today: 2+10+20+30+25 = 87, + 340 + 16 = 443
    assert forecast_payg({**NOV, date(2026, 11, 5): D(25)}, "2026-11", date(2026, 11, 5)) == D(443)


def test_first_day_uses_its_own_cost_so_far_and_a_missing_kind_borrows_the_other():
    assert forecast_payg({date(2026, 11, 1): D(3)}, "2026-11", date(2026, 11, 1)) == D(90)   # 3 x 30 days
    # October 2026: Thursday 1st, Friday 2nd complete (4, 6: mean 5); Saturday 3rd borrows 5: 31 x 5 = 155
    october = {date(2026, 10, 1): D(4), date(2026, 10, 2): D(6)}
    assert forecast_payg(october, "2026-10", date(2026, 10, 3)) == D(155)


def test_a_month_that_is_over_forecasts_its_cost():
    assert forecast_payg(NOV, "2026-11", date(2026, 12, 1)) == D(62)


def test_forecast_total_adds_whole_pool_shares_then_markup_once():
    # 438 + pool 100.00 = 538.00; 10% markup 53.80: 591.80
    total = forecast_total({**NOV, date(2026, 11, 5): D(5)}, "2026-11", date(2026, 11, 5), D("100.00"), D(10), "USD")
    assert total == D("591.80")


def test_thresholds_reached_and_forecast_beyond_budget():
    budget = Budget(D("100.00"), (D(50), D(80), D(100)))
    assert alerts_due(budget, D("49.99"), D("100.00")) == []
    assert alerts_due(budget, D("80.00"), D("90")) == [("budget-50", D(50)), ("budget-80", D(80))]
    assert [k for k, _ in alerts_due(budget, D("100.00"), D("100.01"))] == [
        "budget-50", "budget-80", "budget-100", "budget-forecast"]
    assert threshold_kind(D("80.50")) == "budget-80.5" and threshold_kind(D("100")) == "budget-100"


CONFIG = """
currency: USD
departments:
  - {id: sales, subscriptions: [sub-sales], budget: BUDGET}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
pools:
  - {deployment: ptu, effective_from: 2026-01-01, monthly_cost: 300.00, weights: {input: 1, output: 4}}
"""


@pytest.mark.parametrize(("budget", "problem"), [
    ("{monthly: 0}", "departments[0].budget.monthly: must be more than 0"),
    ("{monthly: 10, alert_at_percent: [50, 50]}", "lists a percentage twice"),
    ("{monthly: 10, alert_at_percent: []}", "must be a non-empty list"),
    ("{monthly: 10, alert_at: [50]}", "unknown key"),
    ("[10]", "must be a mapping"),
])
def test_budget_refused(budget, problem):
    with pytest.raises(InvalidConfig) as refused:
        parse_config(CONFIG.replace("BUDGET", budget))
    assert problem in str(refused.value)


def test_budget_read_with_default_thresholds_sorted():
    dept = parse_config(CONFIG.replace("BUDGET", "{monthly: 2500.00, alert_at_percent: [100, 50]}")).departments[0]
    assert dept.budget == Budget(D("2500.00"), (D(50), D(100)))
    assert parse_config(CONFIG.replace("BUDGET", "{monthly: 1}")).departments[0].budget.alert_at_percent == (
        D(50), D(80), D(100))


def rec(n: int, day: int, deployment: str, prompt: int, completion: int) -> UsageRecord:
    return UsageRecord(record_id=f"r{n}", timestamp=datetime(2026, 11, day, 12, tzinfo=UTC), subscription="sub-sales",
                       deployment=deployment, meters=MeterQuantities(input=prompt, output=completion))


def test_cells_split_each_line_exactly_and_pools_accrue_by_day():
    config = parse_config(CONFIG.replace("BUDGET", "{monthly: 100}"))
    records = [rec(1, 2, "gpt-4o", 1_000_000, 0), rec(2, 3, "gpt-4o", 0, 100_000),   # 2.50 ; 1.00
               rec(3, 2, "ptu", 1_000, 0)]                                              # the only pool user
    usage = aggregate_month("2026-11", records)
    charges = price_month("2026-11", usage, config)
    # As of the 3rd, 3 of 30 days of the pool (300.00, all of it sales's) have accrued: 30.00.
    sales = month_to_date(charges, usage, config, date(2026, 11, 3))["sales"]
    assert sales.cost == {("gpt-4o", "input", date(2026, 11, 2)): D("2.50"),
                          ("gpt-4o", "output", date(2026, 11, 3)): D("1.00"),
                          ("ptu", "input", date(2026, 11, 2)): D("30.00")}
    assert sales.quantity[("ptu", "input", date(2026, 11, 2))] == 1_000
    assert (sales.subtotal, sales.pool_to_accrue) == (D("33.50"), D("270.00"))


def test_an_idle_pool_share_lands_on_capacity():
    config = parse_config(CONFIG.replace("BUDGET", "{monthly: 100}"))
    usage = MonthUsage("2026-11")
    charges = price_month("2026-11", usage, config)   # nobody used the pool: its cost goes to unallocated
    todate = month_to_date(charges, usage, config, date(2026, 11, 30))
    assert todate["unallocated"].cost == {("ptu", CAPACITY, date(2026, 11, 30)): D("300.00")}
    assert todate["sales"].cost == {}


def test_rollups_of_partitions_merge_to_the_month():
    records = [rec(n, 1 + n % 28, "gpt-4o", 1_000 * n, 7 * n) for n in range(1, 60)]
    parts = [aggregate_month("2026-11", [r for r in records if r.timestamp.day <= 14]),
             aggregate_month("2026-11", [r for r in records if r.timestamp.day > 14])]
    merged = MonthUsage("2026-11")
    for part in parts:
        merged.merge(MonthUsage.from_dict(part.to_dict()))   # as stored and read back
    assert merged == aggregate_month("2026-11", records)


def test_the_cell_split_agrees_with_the_pools_fraction_largest_remainder():
    import random

    from chargeback.billing.mtd_cells import _split
    from chargeback.billing.pools import largest_remainder
    rng = random.Random(13)
    for _ in range(200):
        weights = {f"k{n}": D(rng.randint(0, 10**6)) / D(rng.choice([1, 7, 1000])) for n in range(rng.randint(1, 40))}
        weights["k0"] += 1   # not all zero
        total = D(rng.randint(0, 10**6)) / 100
        assert _split(total, weights, D("0.01")) == largest_remainder(total, weights, D("0.01"))
