"""price_month and the month-to-date cell split against a plain reference kept here, on generated months.

The production code routes each group's raw counts (chargeback/billing/pricing) and reads the month once
into an index (chargeback/billing/mtd_cells); the reference below does what the first versions did, the
slow and obvious way: ``usage.groups()`` one by one, ``MeterQuantities`` added per group, every line scanning
every group of its department, and the exact Fraction largest remainder of chargeback/billing/pools. The
months vary what the two could disagree on: seeds, department counts, markups, a price change mid-month,
an hourly PTU pool replaced mid-month by one weighting audio, a pool nobody uses, a rate missing, a
deployment without a price, spill-over from the pool, v1 events.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import pytest

from chargeback.billing.charges import MonthCharges, PaygLine, PoolLine
from chargeback.billing.mtd_cells import CAPACITY, month_to_date
from chargeback.billing.pools import largest_remainder
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.config.model import UNITS, ChargebackConfig, effective_periods
from chargeback.meter_names import METERS
from chargeback.money import quantum, round_money
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.usage.meters import NO_USAGE, MeterQuantities
from devhost.generate.month import generate_month

MONTH = "2026-10"
POOLS_CHANGED = ("    monthly_cost: 26000.00\n    weights: {input: 1, cached_input: 0, output: 4}\n",
                 "    ptus: 50\n    hourly_rate: 1.00\n    weights: {input: 1, cached_input: 0, output: 4}\n"
                 "  - deployment: gpt-4o-ptu\n    effective_from: 2026-10-10\n    monthly_cost: 31000.00\n"
                 "    weights: {input: 1, cached_input: 0.5, output: 3, audio_input: 7}\n")
IDLE_POOL = ("pools:\n", "pools:\n  - deployment: idle-ptu\n    effective_from: 2026-01-01\n"
                         "    monthly_cost: 999.99\n    weights: {input: 1}\n")
# name: (seed, departments, events, format, markup, spilled share, config edits)
MONTHS = {
    "plain": (7, 8, 1500, "v2", "0", 0.0, ()),
    "hourly pool replaced mid-month": (11, 3, 1200, "v2", "12.5", 0.0, (POOLS_CHANGED,)),
    "rate missing, no price, spill-over": (3, 5, 1200, "v2", "3.333", 0.1,
                                           (("    image_output: 40.00\n", ""),
                                            ("  - deployment: tts-hd\n", "  - deployment: tts-hd-old\n"))),
    "v1, idle pool": (5, 2, 800, "v1", "0", 0.0, (IDLE_POOL,)),
    "many departments, much spill-over": (9, 12, 1500, "v2", "5", 0.3, ()),
}


@cache
def _month(name: str) -> tuple[tuple[MonthUsage, MonthUsage], ChargebackConfig]:
    """The month aggregated from its records in time order, and again from them shuffled."""
    seed, departments, events, fmt, markup, spilled, edits = MONTHS[name]
    generated = generate_month(MONTH, departments=departments, events=events, fmt=fmt, seed=seed, bad_events=0)
    yaml = generated.config_yaml.replace("markup_percent: 0", f"markup_percent: {markup}")
    for old, new in edits:
        assert old in yaml
        yaml = yaml.replace(old, new)
    rng = random.Random(seed)
    lines = [_spilled(line, rng, spilled) for line in generated.lines]
    records, dead = parse_batch([RawEvent(line.encode(), "0", n) for n, line in enumerate(lines)])
    assert not dead
    shuffled = list(records)
    rng.shuffle(shuffled)
    return (MonthUsage(MONTH).add_all(records), MonthUsage(MONTH).add_all(shuffled)), parse_config(yaml)


def _spilled(line: str, rng: random.Random, share: float) -> str:
    doc = json.loads(line)
    if share and doc.get("deploymentId") == "gpt-4o-ptu" and rng.random() < share:
        doc["servedDeployment"] = "gpt-4o"   # the PTU spilled this call to the standard deployment
        return json.dumps(doc)
    return line


# --- the reference -------------------------------------------------------------------------------------------

def _reference_lines(usage: MonthUsage, config: ChargebackConfig) -> dict[tuple[object, ...], dict[str, object]]:
    """Every line's usage: (dept, "payg", sub, deployment, period start, spilled from) or (dept, "pool", pool,
    period start) -> requests, meters and models, summed group by group."""
    first, end = usage.first_day, usage.next_first_day
    out: dict[tuple[object, ...], dict[str, object]] = {}
    for key, totals in usage.groups():
        dept = config.department_for(key.subscription)
        prices = [p for p in effective_periods(config.price_history(key.deployment), first, end)
                  if p[1] <= key.day < p[2]]
        pools = [p for p in effective_periods(config.pool_history(key.deployment), first, end)
                 if p[1] <= key.day < p[2]]
        if prices:
            line: tuple[object, ...] = (dept, "payg", key.subscription, key.deployment, prices[0][1], key.spilled_from)
        elif pools:
            line = (dept, "pool", key.deployment, pools[0][1])
        else:
            continue
        found = out.setdefault(line, {"requests": 0, "meters": NO_USAGE, "models": set()})
        found["requests"] += totals.requests   # type: ignore[operator]
        found["meters"] = found["meters"] + totals.meters   # type: ignore[operator]
        if key.model:
            found["models"].add(key.model)   # type: ignore[attr-defined]
    return out


_Cell = tuple[str, str, date]
_Row = tuple[str, str, date, str, object]   # subscription, deployment, day, meter, quantity


def _reference_cells(charges: MonthCharges, usage: MonthUsage, config: ChargebackConfig,
                     as_of: date) -> dict[str, tuple[dict[_Cell, Decimal], dict[_Cell, object]]]:
    """Per department (cost per cell, quantity per cell), every line scanning all of its department's groups."""
    step = quantum(charges.currency)
    rows: dict[str, list[_Row]] = defaultdict(list)
    for key, totals in usage.groups():
        for meter, quantity in totals.meters.used().items():
            rows[config.department_for(key.subscription)].append(
                (key.subscription, key.deployment, key.day, meter, quantity))
    out = {}
    for dept in charges.departments:
        cost: dict[_Cell, Decimal] = defaultdict(lambda: Decimal("0.00"))
        quantity: dict[_Cell, object] = defaultdict(int)
        for _sub, deployment, day, meter, amount in rows[dept.department]:
            quantity[(deployment, meter, day)] += amount   # type: ignore[operator]
        for line in dept.lines:
            deployment, amount, fallback, weights = _line_weights(line, rows[dept.department], as_of)
            if not amount:
                continue
            if not any(weights.values()):
                weights = {(CAPACITY, fallback): Decimal(1)}
            for (meter, day), part in largest_remainder(amount, weights, step).items():   # type: ignore[arg-type]
                cost[(deployment, meter, day)] += part
        out[dept.department] = (dict(cost), dict(quantity))
    return out


def _line_weights(line: PaygLine | PoolLine, rows: list[_Row],
                  as_of: date) -> tuple[str, Decimal, date, dict[tuple[str, date], Decimal]]:
    """(deployment, amount to split, day of a share nothing explains, weight per (meter, day))."""
    weights: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    if isinstance(line, PaygLine):
        for sub, dep, day, meter, q in rows:
            if (sub, dep) == (line.subscription, line.deployment) and line.period_start <= day <= \
                    line.period_end and meter in line.rates:
                per = 3600 if meter == "audio_seconds" else UNITS[line.unit or "1M"]
                weights[(meter, day)] += q * line.rates[meter] / per   # type: ignore[operator]
        return line.deployment, line.amount, line.period_start, weights
    days = (line.period_end - line.period_start).days + 1
    elapsed = max(0, min(days, (as_of - line.period_start).days + 1))
    for _sub, dep, day, meter, q in rows:
        if dep == line.pool and line.period_start <= day <= line.period_end:
            weights[(meter, day)] += line.weights.get(meter, Decimal(0)) * q   # type: ignore[operator]
    return line.pool, round_money(line.amount * elapsed / days, "USD"), min(as_of, line.period_end), weights


# --- the comparisons -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MONTHS)
def test_lines_sum_what_the_reference_sums(name: str):
    (usage, _), config = _month(name)
    charges = price_month(MONTH, usage, config)
    mine: dict[tuple[object, ...], dict[str, object]] = {}
    for dept in charges.departments:
        for line in dept.lines:
            if isinstance(line, PaygLine):
                key: tuple[object, ...] = (dept.department, "payg", line.subscription, line.deployment,
                                           line.period_start, line.spilled_from)
                exact = sum((q * line.rates[m] / (3600 if m == "audio_seconds" else UNITS[line.unit or "1M"])
                             for m, q in line.meters.used().items() if m in line.rates), Decimal(0))
                assert line.exact_amount == exact and line.amount == round_money(exact, "USD")
            else:
                assert isinstance(line, PoolLine)
                key = (dept.department, "pool", line.pool, line.period_start)
                assert line.weighted_tokens == sum((w * line.meters.quantity(m) for m, w in line.weights.items()
                                                    if m in METERS), Decimal(0))
            assert key not in mine
            mine[key] = {"requests": line.requests, "meters": line.meters, "models": set(line.models)}
    reference = _reference_lines(usage, config)
    # Pool lines of departments that did not use the pool (the idle pool's unallocated share) have no usage.
    assert {k: v for k, v in mine.items() if v["requests"] or k not in reference} == \
        {**reference, **{k: v for k, v in mine.items() if not v["requests"] and k not in reference}}
    for pool in charges.pools:
        assert sum(pool.shares.values(), Decimal(0)) == pool.cost


@pytest.mark.parametrize("name", MONTHS)
def test_cells_split_as_the_reference_splits(name: str):
    (usage, _), config = _month(name)
    charges = price_month(MONTH, usage, config)
    for as_of in (date(2026, 10, 1), date(2026, 10, 12), date(2026, 10, 31)):
        reference = _reference_cells(charges, usage, config, as_of)
        todate = month_to_date(charges, usage, config, as_of)
        assert set(todate) == set(reference)
        for dept, mine in todate.items():
            cost, quantity = reference[dept]
            assert mine.cost == cost, (name, as_of, dept)
            assert mine.quantity == quantity, (name, as_of, dept)


@pytest.mark.parametrize("name", MONTHS)
def test_the_order_groups_were_added_in_decides_nothing(name: str):
    (in_order, shuffled), config = _month(name)
    assert in_order == shuffled
    charges = price_month(MONTH, in_order, config)
    assert price_month(MONTH, shuffled, config).to_dict() == charges.to_dict()
    as_of = date(2026, 10, 20)
    a, b = month_to_date(charges, in_order, config, as_of), month_to_date(charges, shuffled, config, as_of)
    assert {d: (t.cost, t.quantity, t.pool_accrued, t.pool_to_accrue) for d, t in a.items()} == \
        {d: (t.cost, t.quantity, t.pool_accrued, t.pool_to_accrue) for d, t in b.items()}


def test_the_months_exercise_what_they_claim():
    seen: dict[str, set[str]] = defaultdict(set)
    for name in MONTHS:
        (usage, _), config = _month(name)
        charges = price_month(MONTH, usage, config)
        lines = [line for d in charges.departments for line in d.lines]
        if any(isinstance(line, PaygLine) and line.spilled_from for line in lines):
            seen["spill-over"].add(name)
        if len(charges.pools) > 1:
            seen["several pool periods"].add(name)
        if any(u.reason.startswith("the price from") for u in charges.unpriced):
            seen["rate missing"].add(name)
        if any(u.reason == "no price or pool in effect" for u in charges.unpriced):
            seen["no price"].add(name)
        if charges.markup_percent:
            seen["markup"].add(name)
        if any(isinstance(line, PaygLine) and line.meters.audio_seconds for line in lines):
            seen["audio seconds"].add(name)
        if len({line.period_start for line in lines if isinstance(line, PaygLine) and line.deployment == "gpt-4o"}) > 1:
            seen["price change mid-month"].add(name)
        cells = month_to_date(charges, usage, config, date(2026, 10, 31))
        if any(cell[1] == CAPACITY for t in cells.values() for cell in t.cost):
            seen["capacity"].add(name)
    assert set(seen) == {"spill-over", "several pool periods", "rate missing", "no price", "markup",
                         "audio seconds", "price change mid-month", "capacity"}


def test_cells_tie_in_the_order_of_their_text():
    """_split ties (meter, day) keys in tuple order; that is the order of "meter|YYYY-MM-DD" (how they tied
    first) only while no meter's name begins another's."""
    names = [*METERS, CAPACITY]
    assert not [(a, b) for a in names for b in names if a != b and b.startswith(a)]
    keys = [(m, date(2026, 10, 1) + timedelta(days=d)) for m in names for d in (0, 9, 30)]
    assert sorted(keys) == sorted(keys, key=lambda k: f"{k[0]}|{k[1].isoformat()}")


def test_meter_quantities_add_field_by_field():
    a = MeterQuantities(*range(1, 11), Decimal("1.25"), 11, 12)   # type: ignore[arg-type]
    b = MeterQuantities(*range(100, 1100, 100), Decimal("0.5"), 7, 3)   # type: ignore[arg-type]
    assert a + b == MeterQuantities(101, 202, 303, 404, 505, 606, 707, 808, 909, 1010, Decimal("1.75"), 18, 15)
    assert MeterQuantities.from_values(list((a + b).values())) == a + b
    with pytest.raises(ValueError, match="expected 13 quantities, got 2"):
        MeterQuantities.from_values([1, 2])


@pytest.mark.parametrize("name", ["plain", "rate missing, no price, spill-over"])
def test_cell_rows_are_the_cells_as_text_in_order(name: str):
    (usage, _), config = _month(name)
    charges = price_month(MONTH, usage, config)
    for t in month_to_date(charges, usage, config, date(2026, 10, 9)).values():
        with_cost = [[*cell[:2], cell[2].isoformat(), str(t.quantity.get(cell, 0)), str(t.cost[cell])]
                     for cell in sorted(t.cost)]
        only_quantity = [[*cell[:2], cell[2].isoformat(), str(t.quantity[cell]), "0"]
                         for cell in sorted(t.quantity) if cell not in t.cost]
        assert t.cell_rows() == with_cost + only_quantity
        assert len(t.cell_rows()) == len(t.cost.keys() | t.quantity.keys())


def test_token_totals_count_every_input_and_output_meter():
    from chargeback.meter_names import INPUT_METERS, OUTPUT_METERS
    for n, meter in enumerate(METERS):
        one = MeterQuantities(**{meter: 10 ** n})   # type: ignore[arg-type]
        assert one.prompt_tokens == (10 ** n if meter in INPUT_METERS else 0), meter
        assert one.completion_tokens == (10 ** n if meter in OUTPUT_METERS else 0), meter
