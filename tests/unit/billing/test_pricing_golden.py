"""Golden cases: configs, records and figures worked out by hand (the arithmetic is in each YAML)."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chargeback.billing.charges import MonthCharges
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.errors import InvalidMonth
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
CASES = sorted(GOLDEN.glob("*.yaml"))


def _records(rows: list[dict]):
    """Records built lazily, as storage would stream them."""
    for n, row in enumerate(rows):
        if "meters" in row:   # a call billed on other meters than text tokens
            yield UsageRecord(record_id=f"golden-{n}", timestamp=datetime.fromisoformat(row["at"]),
                              subscription=row["subscription"], deployment=row["deployment"],
                              model=row.get("model", ""), meters=MeterQuantities.from_dict(row["meters"]))
            continue
        yield UsageRecord(
            record_id=f"golden-{n}", timestamp=datetime.fromisoformat(row["at"]),
            subscription=row["subscription"], deployment=row["deployment"], model=row.get("model", ""),
            prompt_tokens=row.get("prompt", 0), cached_tokens=row.get("cached", 0),
            completion_tokens=row.get("completion", 0), reasoning_tokens=row.get("reasoning", 0),
            metered=row.get("metered", True))


def _priced(case: dict):
    usage = aggregate_month(case["month"], _records(case["records"]))
    return usage, price_month(case["month"], usage, parse_config(case["config"])).to_dict()


def _matches(actual: dict, expected: dict) -> bool:
    return all(actual.get(k) == v for k, v in expected.items())


def test_there_are_golden_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(path: Path):
    case = yaml.safe_load(path.read_text())
    expected = case["expected"]
    usage, charges = _priced(case)
    departments = {d["department"]: d for d in charges["departments"]}

    assert charges["grand_total"] == expected["grand_total"]
    for dept, figures in expected["departments"].items():
        shown = {k: departments[dept][k] for k in ("subtotal", "markup", "total")}
        assert shown == figures, dept
    for listed in expected.get("lines", []):
        want = dict(listed)
        lines = departments[want.pop("department")]["lines"]
        found = [line for line in lines if _matches(line, want)]
        assert len(found) == 1, f"no single line matching {want}; lines are {lines}"
    for want in expected.get("pools", []):
        found = [pool for pool in charges["pools"] if _matches(pool, want)]
        assert len(found) == 1, f"no single pool matching {want}; pools are {charges['pools']}"
    if "unpriced" in expected:
        assert len(charges["unpriced"]) == len(expected["unpriced"])
        for want in expected["unpriced"]:
            assert any(_matches(u, want) for u in charges["unpriced"]), (want, charges["unpriced"])
    for phrase in expected.get("warnings_mention", []):
        assert any(phrase in w for w in charges["warnings"]), (phrase, charges["warnings"])
    assert usage.outside_month == expected.get("outside_month", 0)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case_reconciles(path: Path):
    """Every displayed figure adds up: lines -> subtotal, + markup -> total, totals -> grand total."""
    _usage, charges = _priced(yaml.safe_load(path.read_text()))
    for dept in charges["departments"]:
        assert Decimal(dept["subtotal"]) == sum(Decimal(line["amount"]) for line in dept["lines"])
        assert Decimal(dept["total"]) == Decimal(dept["subtotal"]) + Decimal(dept["markup"])
    assert Decimal(charges["grand_total"]) == sum(Decimal(d["total"]) for d in charges["departments"])
    for pool in charges["pools"]:
        assert Decimal(pool["cost"]) == sum(Decimal(v) for v in pool["shares"].values())


# Small hand-worked cases that read better as code than as data files.

SMALL_CONFIG = """
currency: EUR
markup_percent: 10
departments:
  - {id: sales, name: Sales, cost_center: CC-7, subscriptions: [sub-s]}
  - {id: idle, name: Idle, subscriptions: [sub-i]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, output: 10.00}
pools:
  - {deployment: ptu, effective_from: 2026-01-01, monthly_cost: 310.00, weights: {input: 1, cached_input: 0, output: 4}}
"""


def _one(at: str, subscription: str, deployment: str, prompt=0, cached=0, completion=0, metered=True):
    return UsageRecord(record_id=at + subscription, timestamp=datetime.fromisoformat(at), subscription=subscription,
                       deployment=deployment, prompt_tokens=prompt, cached_tokens=cached,
                       completion_tokens=completion, metered=metered)


def test_a_pool_used_only_by_zero_weight_tokens_goes_to_unallocated():
    # sales sent 5,000 prompt tokens, all cached: weight 0, so nobody used the pool's weighted capacity.
    usage = aggregate_month("2026-03", [_one("2026-03-02T00:00:00Z", "sub-s", "ptu", prompt=5000, cached=5000)])
    charges = price_month("2026-03", usage, parse_config(SMALL_CONFIG))
    sales, idle, unallocated = charges.departments
    assert [(line.kind, line.cached_tokens, line.amount) for line in sales.lines] == [("pool", 5000, Decimal("0.00"))]
    assert idle.lines == () and idle.total == Decimal("0.00")
    # 310.00 to unallocated, plus 10% markup = 31.00
    assert (unallocated.department, unallocated.subtotal, unallocated.markup, unallocated.total) == (
        "unallocated", Decimal("310.00"), Decimal("31.00"), Decimal("341.00"))
    assert any('pool "ptu" had no weighted usage' in w for w in charges.warnings)


def test_unmetered_streams_are_counted_and_warned_about_not_charged():
    usage = aggregate_month("2026-03", [_one("2026-03-02T00:00:00Z", "sub-s", "gpt-4o", metered=False),
                                        _one("2026-03-02T00:00:01Z", "sub-s", "gpt-4o", prompt=400000)])
    charges = price_month("2026-03", usage, parse_config(SMALL_CONFIG))
    [line] = charges.department("sales").lines[:1]
    # 400,000 x 2.50/1M = 1.00 ; the unmetered stream adds a request and nothing else
    assert (line.requests, line.unmetered, line.amount) == (2, 1, Decimal("1.00"))
    assert '1 streamed request(s) on "gpt-4o" never reported their usage: counted as unmetered, not charged' in (
        charges.warnings)


def test_every_configured_department_is_listed_and_unallocated_only_when_it_has_something():
    usage = aggregate_month("2026-03", [_one("2026-03-05T10:00:00Z", "sub-s", "ptu", prompt=10)])
    charges = price_month("2026-03", usage, parse_config(SMALL_CONFIG))
    assert [d.department for d in charges.departments] == ["sales", "idle"]
    sales = charges.department("sales")
    # the whole pool, 310.00, is sales's; 10% markup 31.00
    assert (sales.name, sales.cost_center, sales.total) == ("Sales", "CC-7", Decimal("341.00"))
    assert charges.currency == "EUR" and charges.grand_total == Decimal("341.00")


def test_month_charges_survive_json():
    usage = aggregate_month("2026-03", [_one("2026-03-05T10:00:00Z", "sub-s", "ptu", prompt=10),
                                        _one("2026-03-06T10:00:00Z", "sub-x", "gpt-4o", prompt=10, cached=5),
                                        _one("2026-03-07T10:00:00Z", "sub-x", "dall-e", prompt=1)])
    charges = price_month("2026-03", usage, parse_config(SMALL_CONFIG))
    text = json.dumps(charges.to_dict())
    assert MonthCharges.from_dict(json.loads(text)) == charges
    assert json.loads(text)["departments"][0]["lines"][0]["kind"] == "pool"


def test_usage_of_another_month_is_refused():
    with pytest.raises(ValueError, match="usage is for 2026-03, not 2026-04"):
        price_month("2026-04", aggregate_month("2026-03", []), parse_config(SMALL_CONFIG))
    with pytest.raises(InvalidMonth):
        price_month("April", aggregate_month("2026-03", []), parse_config(SMALL_CONFIG))


def test_the_run_records_which_config_priced_it():
    config = parse_config(SMALL_CONFIG)
    charges = price_month("2026-03", aggregate_month("2026-03", []), config)
    assert charges.config_fingerprint == config.fingerprint()
    assert charges.grand_total == Decimal("341.00")   # an unused pool still costs: 310.00 + 10%


def test_a_priced_month_stored_before_meters_still_loads():
    """Runs stored by the first release have no meters, rates or reasons: they load with the defaults."""
    usage = aggregate_month("2026-03", [_one("2026-03-05T10:00:00Z", "sub-s", "ptu", prompt=10),
                                        _one("2026-03-06T10:00:00Z", "sub-s", "gpt-4o", prompt=10, cached=5),
                                        _one("2026-03-07T10:00:00Z", "sub-x", "dall-e", prompt=1)])
    charges = price_month("2026-03", usage, parse_config(SMALL_CONFIG))
    stored = charges.to_dict()
    for dept in stored["departments"]:
        for line in dept["lines"]:
            for key in ("meters", "rates", "price_from", "weights"):
                line.pop(key, None)
    for unpriced in stored["unpriced"]:
        unpriced.pop("meters")
        unpriced.pop("reason")
    old = MonthCharges.from_dict(json.loads(json.dumps(stored)))
    assert old.grand_total == charges.grand_total == Decimal("341.00")
    assert [line.amount for line in old.department("sales").lines] == [
        line.amount for line in charges.department("sales").lines]
    payg = next(line for line in old.department("sales").lines if line.kind == "payg")
    assert payg.rates == {} and old.unpriced[0].reason == "" and not old.unpriced[0].meters.used()
