"""Golden cases: configs, records and figures worked out by hand (the arithmetic is in each YAML)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chargeback.aggregation import aggregate_month
from chargeback.config import parse_config
from chargeback.pricing import price_month
from chargeback.usage import UsageRecord

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CASES = sorted(GOLDEN.glob("*.yaml"))


def _records(rows: list[dict]):
    """Records built lazily, as storage would stream them."""
    for n, row in enumerate(rows):
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
    assert len(CASES) >= 8


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
    for want in expected.get("lines", []):
        want = dict(want)
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
