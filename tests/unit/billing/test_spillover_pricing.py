"""Spill-over: a call a PTU deployment spilled to a standard one is priced at the standard deployment's
pay-as-you-go rates, on a line of its own, and never counts in the pool's weighted shares."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from chargeback.billing.charges import MonthCharges, PaygLine, PoolLine
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.usage.aggregation import MonthUsage, aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord

CONFIG = """
currency: USD
departments:
  - {id: alpha, name: Alpha, subscriptions: [sub-a]}
  - {id: beta, name: Beta, subscriptions: [sub-b]}
prices:
  - {deployment: gpt-4o-paygo, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
pools:
  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 100.00, weights: {input: 1, output: 4}}
"""


def _call(n: int, subscription: str, deployment: str, prompt: int, completion: int = 0,
          served: str = "") -> UsageRecord:
    return UsageRecord(record_id=f"r{n}", timestamp=datetime.fromisoformat(f"2026-03-{n + 1:02d}T10:00:00Z"),
                       subscription=subscription, deployment=deployment,
                       meters=MeterQuantities(input=prompt, output=completion), served_deployment=served)


RECORDS = [
    _call(1, "sub-a", "gpt-4o-ptu", 1000),                                    # PTU served: weighted 1,000
    _call(2, "sub-b", "gpt-4o-ptu", 1000),                                    # PTU served: weighted 1,000
    _call(3, "sub-b", "gpt-4o-ptu", 2_000_000, 100_000, served="gpt-4o-paygo"),   # spilled
    _call(4, "sub-b", "gpt-4o-paygo", 400_000),                              # called on the standard deployment
]


def _priced(records: list[UsageRecord]) -> MonthCharges:
    return price_month("2026-03", aggregate_month("2026-03", records), parse_config(CONFIG))


def test_spilled_calls_are_priced_at_payg_and_leave_the_pool_shares():
    charges = _priced(RECORDS)
    [pool] = charges.pools
    # Only the PTU-served calls weigh: 1,000 + 1,000 = 2,000 (the spilled call would have added
    # 2,000,000 x 1 + 100,000 x 4 = 2,400,000 and taken 99.9% of the pool).
    assert pool.weighted_tokens == Decimal(2000)
    assert pool.shares == {"alpha": Decimal("50.00"), "beta": Decimal("50.00")}   # 100.00 x 1,000/2,000 each
    beta = charges.department("beta")
    assert beta is not None
    payg = [line for line in beta.lines if isinstance(line, PaygLine)]
    spilled = [line for line in payg if line.spilled_from]
    direct = [line for line in payg if not line.spilled_from]
    # spilled: 2,000,000 x 2.50/1M = 5.00 ; 100,000 x 10.00/1M = 1.00 -> 6.00 on gpt-4o-paygo
    assert [(s.deployment, s.spilled_from, s.requests, s.amount) for s in spilled] == [
        ("gpt-4o-paygo", "gpt-4o-ptu", 1, Decimal("6.00"))]
    # called directly: 400,000 x 2.50/1M = 1.00, its own line
    assert [(d.deployment, d.requests, d.amount) for d in direct] == [("gpt-4o-paygo", 1, Decimal("1.00"))]
    [beta_pool] = [line for line in beta.lines if isinstance(line, PoolLine)]
    assert (beta_pool.requests, beta_pool.weighted_tokens, beta_pool.amount) == (1, Decimal(1000), Decimal("50.00"))
    assert beta.total == Decimal("57.00")                       # 50.00 + 1.00 + 6.00
    assert charges.department("alpha").total == Decimal("50.00")  # type: ignore[union-attr]
    assert charges.grand_total == Decimal("107.00")            # pool 100.00 + PAYG 7.00


def test_a_month_without_spill_over_stores_as_before():
    records = [r for r in RECORDS if not r.served_deployment]
    usage = aggregate_month("2026-03", records)
    assert "spilled" not in usage.to_dict() and "spilled_columns" not in usage.to_dict()
    lines = [line for d in _priced(records).to_dict()["departments"] for line in d["lines"]]
    assert lines and all("spilled_from" not in line for line in lines)


def test_spilled_usage_and_lines_survive_their_json():
    usage = aggregate_month("2026-03", RECORDS)
    again = MonthUsage.from_json(usage.to_json())
    assert again == usage
    assert [k.spilled_from for k, _ in again.groups()].count("gpt-4o-ptu") == 1
    merged = MonthUsage("2026-03").merge(again).merge(again)
    assert [t.requests for k, t in merged.groups() if k.spilled_from] == [2]
    charges = _priced(RECORDS)
    assert MonthCharges.from_dict(charges.to_dict()) == charges
