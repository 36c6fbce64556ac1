"""The month-to-date split reuses a line's parts from the previous call only when every input is the same:
after new usage, a later day, or a price change, a call warmed by the previous one equals a cold one."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chargeback.billing import mtd_cells
from chargeback.billing.mtd_cells import DepartmentToDate, month_to_date
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord

CONFIG = """
currency: USD
departments:
  - {id: sales, subscriptions: [sub-a, sub-b]}
  - {id: legal, subscriptions: [sub-c]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: INPUT, output: 10.00}
  - {deployment: gpt-4o, effective_from: 2026-11-16, unit: 1M, input: 2.00, output: 8.00}
  - {deployment: mini, effective_from: 2026-01-01, unit: 1K, input: 0.0003, output: 0.0012}
pools:
  - {deployment: ptu, effective_from: 2026-01-01, monthly_cost: 1000.00, weights: {input: 1, output: 4}}
"""
SUBS = ("sub-a", "sub-b", "sub-c")
DEPLOYMENTS = ("gpt-4o", "mini", "ptu")


def records(seed: int, count: int, days: range, start: int = 0) -> list[UsageRecord]:
    rng = random.Random(seed)
    return [UsageRecord(record_id=f"r{start + n}", subscription=rng.choice(SUBS), deployment=rng.choice(DEPLOYMENTS),
                        timestamp=datetime(2026, 11, rng.choice(days), rng.randrange(24), tzinfo=UTC),
                        meters=MeterQuantities(input=rng.randrange(1, 90_000), output=rng.randrange(0, 9_000)))
            for n in range(count)]


def cells(todate: dict[str, DepartmentToDate]) -> dict[str, Any]:
    """Everything a department's month so far holds, as text (so 1.0 and 1.00 would differ)."""
    return {d: ([(cell, str(cost)) for cell, cost in sorted(t.cost.items())],
                [(cell, str(q)) for cell, q in sorted(t.quantity.items())], str(t.pool_accrued), str(t.pool_to_accrue))
            for d, t in todate.items()}


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many line splits were computed (not reused) by each call; every test starts with nothing kept."""
    monkeypatch.setattr(mtd_cells._SplitMemo, "previous", {})
    counted = [0]
    real = mtd_cells._split

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted[0] += 1
        return real(*args, **kwargs)
    monkeypatch.setattr(mtd_cells, "_split", counting)
    return counted


def warm_and_cold(usage_records: list[UsageRecord], input_rate: str, as_of: date,
                  splits: list[int]) -> tuple[dict[str, Any], dict[str, Any], int]:
    """This call's cells after whatever the previous call kept, the same computed from nothing, and how many
    lines the warm call had to split."""
    config = parse_config(CONFIG.replace("INPUT", input_rate))
    usage = aggregate_month("2026-11", usage_records)
    charges = price_month("2026-11", usage, config)
    before = splits[0]
    warm = cells(month_to_date(charges, usage, config, as_of))
    computed = splits[0] - before
    kept = mtd_cells._SplitMemo.previous
    mtd_cells._SplitMemo.previous = {}
    cold = cells(month_to_date(charges, usage, config, as_of))
    mtd_cells._SplitMemo.previous = kept
    return warm, cold, computed


def lines_priced(usage_records: list[UsageRecord]) -> int:
    config = parse_config(CONFIG.replace("INPUT", "2.50"))
    charges = price_month("2026-11", aggregate_month("2026-11", usage_records), config)
    return sum(1 for d in charges.departments for line in d.lines if line.amount)


def test_new_usage_on_one_line_recomputes_that_line_and_the_pool_only(splits):
    month = records(1, 400, range(1, 28))
    first, _, computed = warm_and_cold(month, "2.50", date(2026, 11, 27), splits)
    assert computed == lines_priced(month)   # nothing kept yet
    late = [UsageRecord(record_id="late-1", subscription="sub-c", deployment="mini",
                        timestamp=datetime(2026, 11, 27, 23, tzinfo=UTC), meters=MeterQuantities(input=5_000))]
    warm, cold, computed = warm_and_cold(month + late, "2.50", date(2026, 11, 27), splits)
    assert warm == cold and warm != first
    # legal's mini line changed; the pool's cost and shares did not, nor any other line
    assert computed == 1


def test_pool_usage_changes_every_pool_share(splits):
    month = records(2, 400, range(1, 28))
    warm_and_cold(month, "2.50", date(2026, 11, 27), splits)
    late = [UsageRecord(record_id="late-2", subscription="sub-a", deployment="ptu",
                        timestamp=datetime(2026, 11, 27, 23, tzinfo=UTC), meters=MeterQuantities(input=900_000))]
    warm, cold, computed = warm_and_cold(month + late, "2.50", date(2026, 11, 27), splits)
    assert warm == cold
    assert computed == 2   # sales's and legal's pool lines: their amounts moved, payg lines kept


def test_a_later_day_accrues_more_pool_and_a_new_rate_reprices(splits):
    month = records(3, 300, range(1, 20))
    warm_and_cold(month, "2.50", date(2026, 11, 20), splits)
    warm, cold, computed = warm_and_cold(month, "2.50", date(2026, 11, 21), splits)
    assert warm == cold and computed == 2   # only the pool lines accrue by day
    warm, cold, computed = warm_and_cold(month, "3.75", date(2026, 11, 21), splits)
    assert warm == cold and computed == 3   # gpt-4o's first price period, one line per subscription
    warm, cold, computed = warm_and_cold(month, "3.75", date(2026, 11, 21), splits)
    assert warm == cold and computed == 0


def test_parts_still_sum_to_each_line(splits):
    month = records(4, 500, range(1, 31))
    config = parse_config(CONFIG.replace("INPUT", "2.50"))
    usage = aggregate_month("2026-11", month)
    charges = price_month("2026-11", usage, config)
    for _ in range(2):   # cold, then entirely from what the first call kept
        todate = month_to_date(charges, usage, config, date(2026, 11, 30))
        for dept in charges.departments:
            assert todate[dept.department].subtotal == dept.subtotal
    assert splits[0] == lines_priced(month)
