"""The faster month-to-date code makes the very documents the def4b52 code made (issue 13, the refresh's CPU).

The old code is kept verbatim next to this test: mtd_def4b52 (the cell split group by group in Decimal, the
cell rows, the department document), pricing_def4b52 and usage_def4b52 (price_month routing each group into
a LineUsage, the line's rates by Price.rate). The new code: chargeback/billing/mtd_cells, mtd_index and
mtd_split (integer weights and an integer largest remainder where they agree with the Decimal split by
construction, the Decimal split elsewhere), chargeback/billing/pricing and workflow/month_to_date. Generated
months vary what the two could disagree on: seeds and department counts, a mid-month price change (every
generated config has one), markups, spill-over from the pool, an hourly pool replaced mid-month, a pool
weighting audio seconds, a rate missing, v1 events, a currency without minor unit, as of day 1, 15 and the
month's last; compared as the JSON text of the whole document, and the charges as their repr.
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

import pytest

from chargeback.billing import mtd_cells
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.config.model import ChargebackConfig
from chargeback.months import month_bounds
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.workflow.month_to_date import to_date_document
from devhost.generate.month import generate_month
from tests.unit.billing import mtd_def4b52, pricing_def4b52
from tests.unit.billing.test_mtd_cells_reference import _spilled

MONTH = "2026-10"
HOURLY = ("    monthly_cost: 26000.00\n    weights: {input: 1, cached_input: 0, output: 4}\n",
          "    ptus: 50\n    hourly_rate: 1.00\n    weights: {input: 1, cached_input: 0, output: 4}\n"
          "  - deployment: gpt-4o-ptu\n    effective_from: 2026-10-10\n    monthly_cost: 31000.00\n"
          "    weights: {input: 1, cached_input: 0.5, output: 3, audio_input: 7}\n")
# whisper priced by a pool from the 12th (unpriced before), weighting audio seconds (Decimal) and tokens
AUDIO_POOL = ("pools:\n", "pools:\n  - deployment: whisper\n    effective_from: 2026-10-12\n"
                          "    monthly_cost: 1234.57\n    weights: {audio_seconds: 0.37, input: 1}\n")
NO_WHISPER_PRICE = ("  - deployment: whisper\n    effective_from: 2026-01-01\n    audio_hour: 0.36\n", "")
MISSING_RATE = ("    image_output: 40.00\n", "")
JPY = ("currency: USD", "currency: JPY")
# name: (seed, departments, events, format, markup, spilled share, config edits)
MONTHS = {
    "as the bench, smaller": (7, 8, 5000, "v2", "0", 0.0, ()),
    "hourly pool replaced, spill-over": (11, 3, 2500, "v2", "12.5", 0.15, (HOURLY,)),
    "audio-weighted pool, rate missing": (3, 5, 2500, "v2", "3.333", 0.05,
                                          (NO_WHISPER_PRICE, AUDIO_POOL, MISSING_RATE)),
    "v1, many departments": (5, 12, 2000, "v1", "5", 0.0, ()),
    "yen": (13, 4, 1500, "v2", "7", 0.1, (JPY,)),
    "few events": (17, 6, 300, "v2", "0", 0.3, (HOURLY,)),
}
AS_OF = ("2026-10-01T06:00:00+00:00", "2026-10-15T12:00:00+00:00", "2026-10-31T23:00:00+00:00")


@cache
def _month(name: str) -> tuple[MonthUsage, ChargebackConfig]:
    seed, departments, events, fmt, markup, spilled, edits = MONTHS[name]
    generated = generate_month(MONTH, departments=departments, events=events, fmt=fmt, seed=seed, bad_events=0)
    yaml = generated.config_yaml.replace("markup_percent: 0", f"markup_percent: {markup}")
    for old, new in edits:
        assert old in yaml, (name, old)
        yaml = yaml.replace(old, new)
    rng = random.Random(seed)
    lines = [_spilled(line, rng, spilled) for line in generated.lines]
    records, dead = parse_batch([RawEvent(line.encode(), "0", n) for n, line in enumerate(lines)])
    assert not dead
    return MonthUsage(MONTH).add_all(records), parse_config(yaml)


def _old_document(config: ChargebackConfig, as_of: str, usage: MonthUsage) -> dict[str, object]:
    """workflow/month_to_date.price_to_date_step's document as def4b52 built it, from the old code only."""
    charges = pricing_def4b52.price_month(MONTH, usage, config)
    first_day, next_first_day = month_bounds(MONTH)
    now = max(datetime.fromisoformat(as_of).date(), first_day)
    day = min(now, next_first_day - timedelta(days=1))
    todate = mtd_def4b52.month_to_date(charges, usage, config, day)
    pools = frozenset(p.deployment for p in config.pools)
    departments = [mtd_def4b52.department_document(config, MONTH, now, t, pools) for t in todate.values()]
    return {"month": MONTH, "as_of": as_of, "day": day.isoformat(), "currency": charges.currency,
            "config_fingerprint": charges.config_fingerprint, "markup_percent": str(charges.markup_percent),
            "total": str(sum((t.total for t in todate.values()), Decimal(0))),
            "departments": departments, "warnings": list(charges.warnings)}


@pytest.mark.parametrize("name", MONTHS)
def test_price_month_charges_are_the_old_ones(name: str):
    usage, config = _month(name)
    new, old = price_month(MONTH, usage, config), pricing_def4b52.price_month(MONTH, usage, config)
    assert repr(new) == repr(old)   # every Decimal with its digits, every line, pool, warning in order
    assert json.dumps(new.to_dict(), sort_keys=True, default=str) == json.dumps(old.to_dict(), sort_keys=True,
                                                                               default=str)


@pytest.mark.parametrize("as_of", AS_OF)
@pytest.mark.parametrize("name", MONTHS)
def test_the_month_to_date_document_is_the_old_one_to_the_byte(name: str, as_of: str):
    usage, config = _month(name)
    new = json.dumps(to_date_document(config, MONTH, as_of, usage), separators=(",", ":"))
    old = json.dumps(_old_document(config, as_of, usage), separators=(",", ":"))
    assert new == old
    assert len(json.loads(new)["departments"]) == len(config.departments) + 1   # and unallocated


@pytest.mark.parametrize("name", MONTHS)
def test_the_cells_are_the_old_cells(name: str):
    usage, config = _month(name)
    charges = price_month(MONTH, usage, config)
    for as_of in (date(2026, 10, 1), date(2026, 10, 15), date(2026, 10, 31)):
        new = mtd_cells.month_to_date(charges, usage, config, as_of)
        old = mtd_def4b52.month_to_date(charges, usage, config, as_of)
        assert list(new) == list(old)
        for dept, mine in new.items():
            theirs = old[dept]
            assert sorted(mine.cost.items()) == sorted(theirs.cost.items())
            assert repr(sorted(mine.cost.items())) == repr(sorted(theirs.cost.items()))   # digits too
            assert repr(sorted(mine.quantity.items())) == repr(sorted(theirs.quantity.items()))
            assert (mine.pool_accrued, mine.pool_to_accrue) == (theirs.pool_accrued, theirs.pool_to_accrue)
            assert mine.cell_rows() == theirs.cell_rows()
            pools = frozenset({"gpt-4o-ptu"})   # the order of the days is the forecast's (it sums them exactly)
            assert repr(sorted(mine.daily_cost(True, pools).items())) == \
                repr(sorted(theirs.daily_cost(True, pools).items()))


def test_both_splits_are_taken(monkeypatch: pytest.MonkeyPatch):
    """The months make lines split in integers and lines split in Decimal (audio seconds at a rate or weight).
    (Where the integer split declines, ties at the cut: tests/unit/billing/test_mtd_split.py.)"""
    taken = {"whole": 0, "declined": 0, "decimal": 0}
    whole, decimal = mtd_cells.whole_parts, mtd_cells.decimal_parts

    def counting_whole(units: int, weights: list[int]) -> list[int] | None:
        parts = whole(units, weights)
        taken["whole" if parts is not None else "declined"] += 1
        return parts

    def counting_decimal(total: Decimal, weights: dict, step: Decimal) -> dict:
        taken["decimal"] += 1
        return decimal(total, weights, step)

    monkeypatch.setattr(mtd_cells, "whole_parts", counting_whole)
    monkeypatch.setattr(mtd_cells, "decimal_parts", counting_decimal)
    for name in MONTHS:
        usage, config = _month(name)
        mtd_cells.month_to_date(price_month(MONTH, usage, config), usage, config, date(2026, 10, 20))
    assert taken["whole"] > 100
    assert taken["decimal"] > taken["declined"]
