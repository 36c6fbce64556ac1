"""Month to date per department x deployment x meter x day, from the month so far priced by price_month.

Every cost figure comes from a priced line, split so the parts sum to it exactly (largest remainder, to the
currency's minor unit): a pay-as-you-go line by each (meter, day)'s exact list cost; a pool line by each
(meter, day)'s weighted tokens. A pool's cost accrues by day: month to date shows the department's share
of the pool period's days elapsed (``line.amount x elapsed / days``, rounded once), and its whole share as
what the month will cost. A pool share with no weighted usage lands on meter ``capacity``.

How, cheaply (the refresh prices the month so far every time): the month's groups are read once
(chargeback/billing/mtd_index) into day columns per (subscription, deployment) and per (department, pool);
a line's weights are then integers, ``quantity x rate`` scaled by one common factor, split by an integer
largest remainder (chargeback/billing/mtd_split) that gives what the Decimal split of the first version
gives, or declines; audio seconds at a rate (Decimal seconds x rate / 3600, rounded group by group) and the
declined lines take that Decimal split itself, the weights summed group by group as they always were.
tests/unit/billing/test_mtd_identical.py compares the documents with the first version's, byte for byte.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from chargeback.billing.charges import MonthCharges, PaygLine, PoolLine
from chargeback.billing.mtd_index import (
    Cell,
    Key,
    MonthIndex,
    Segment,
    add_days,
    int_weights,
    payg_by_groups,
    pool_by_groups,
)
from chargeback.billing.mtd_split import decimal_parts, decimal_split, whole_parts
from chargeback.config.model import ChargebackConfig
from chargeback.money import quantum, round_money, zero
from chargeback.usage.aggregation import MonthUsage

CAPACITY = "capacity"   # the meter of a pool share no weighted usage explains
_NOTHING = Decimal(0)


@dataclass
class DepartmentToDate:
    """One department's month so far: cost and quantity per cell, pool cost still to accrue."""

    department: str
    currency: str
    cost: dict[Cell, Decimal] = field(default_factory=dict)
    quantity: dict[Cell, int | Decimal] = field(default_factory=dict)
    pool_to_accrue: Decimal = Decimal(0)   # the rest of the pool periods' shares, at today's shares
    pool_accrued: Decimal = Decimal(0)
    markup_percent: Decimal = Decimal(0)

    @property
    def subtotal(self) -> Decimal:
        return sum(self.cost.values(), zero(self.currency))

    @property
    def markup(self) -> Decimal:
        return self.totals()[1]

    @property
    def total(self) -> Decimal:
        return self.totals()[2]

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        """(subtotal, markup, total), the cells summed once: markup once on the subtotal, rounded once."""
        subtotal = self.subtotal
        markup = round_money(subtotal * self.markup_percent / 100, self.currency)
        return subtotal, markup, subtotal + markup

    def daily_cost(self, exclude_pools: bool = True, pools: frozenset[str] = frozenset()) -> dict[date, Decimal]:
        """Cost per day (pool deployments left out when ``exclude_pools``: they accrue by day, not by use)."""
        out: dict[date, Decimal] = {}
        nothing = zero(self.currency)
        for (deployment, _meter, day), cost in self.cost.items():
            if not (exclude_pools and deployment in pools):
                out[day] = out.get(day, nothing) + cost
        return out

    def cell_rows(self) -> list[list[str]]:
        """Every cell as text, ``[deployment, meter, day, quantity, cost]`` (CELL_COLUMNS): the cells with a cost in
        order, then the cells with only a quantity (cost "0") in order."""
        cost, quantity = self.cost, self.quantity
        cells = list(cost)
        texts = {day: day.isoformat() for day in {cell[2] for cell in cells}}   # a text per date, made once
        got = quantity.get
        # month_to_date makes the cost cells in order: comparing them with their order only checks it (distinct
        # keys: sorting the items sorts by them)
        items = zip(cells, cost.values()) if cells == sorted(cells) else sorted(cost.items())   # noqa: B905
        rows = [[deployment, meter, texts[day], str(got(cell, 0)), str(amount)]
                for cell, amount in items for deployment, meter, day in (cell,)]
        rest = sorted(quantity.keys() - cost.keys())   # distinct keys: sorted the same whatever their order
        rows += [[deployment, meter, texts.get(day) or day.isoformat(), str(quantity[cell]), "0"]
                 for cell in rest for deployment, meter, day in (cell,)]
        return rows


def month_to_date(charges: MonthCharges, usage: MonthUsage, config: ChargebackConfig,
                  as_of: date) -> dict[str, DepartmentToDate]:
    """Every department's cells as of ``as_of`` (the day of the refresh, counted as elapsed)."""
    step, nothing = quantum(charges.currency), zero(charges.currency)
    index = MonthIndex(usage, config, frozenset(p.deployment for p in charges.pools))
    out: dict[str, DepartmentToDate] = {}
    money = _Money(nothing, step)
    for dept in charges.departments:
        todate = DepartmentToDate(dept.department, charges.currency, markup_percent=charges.markup_percent)
        todate.quantity = index.quantity.get(dept.department, {})
        steps: _Steps = {}
        for line in dept.lines:
            if isinstance(line, PaygLine):
                _split_payg(steps, line, index, step)
            else:
                _split_pool(todate, steps, line, index, step, as_of)
        # In cell order (what cell_rows sorts by); a cell's steps summed, then made money once: the same Decimal
        # as adding each line's part to it in turn (whole steps: exact).
        todate.cost = {(deployment, meter, day): money[units]
                       for (deployment, meter), days in sorted(steps.items()) for day, units in sorted(days.items())}
        out[dept.department] = todate
    return out


_Steps = dict[tuple[str, str], dict[date, int]]   # (deployment, meter) -> day -> whole steps of the currency


class _Money(dict[int, Decimal]):
    """Whole steps -> the Decimal ``nothing + units x step`` (immutable: one for every cell of that amount)."""

    def __init__(self, nothing: Decimal, step: Decimal):
        super().__init__()
        self.nothing, self.step = nothing, step

    def __missing__(self, units: int) -> Decimal:
        amount = self[units] = self.nothing + units * self.step
        return amount


_split = decimal_split   # the split itself, by the name its tests know


def _split_payg(steps: _Steps, line: PaygLine, index: MonthIndex, step: Decimal) -> None:
    """Weights: each (meter, day)'s exact list cost (billing.meter_rates.meter_cost) over the line's
    subscription's groups on its deployment in its period, whatever they spilled from."""
    if not line.amount:
        return
    pair = (line.subscription, line.deployment)
    rates = index.rates(line.rates)
    weights = None if rates is None else int_weights(rates, index.columns.get(pair), line.period_start.day,
                                                     line.period_end.day, index.prec)
    if weights is None or not _add_whole(steps, line.deployment, int(index.sixty.divide(line.amount, step)),
                                         line.period_start, weights):
        _add(steps, line.deployment, line.amount, payg_by_groups(line, index.groups(pair), index.days),
             step, line.period_start)


def _split_pool(todate: DepartmentToDate, steps: _Steps, line: PoolLine, index: MonthIndex, step: Decimal,
                as_of: date) -> None:
    """Weights: each (meter, day)'s weighted tokens (every meter used, weight 0 where the pool names none)."""
    days = (line.period_end - line.period_start).days + 1
    elapsed = max(0, min(days, (as_of - line.period_start).days + 1))
    accrued = round_money(line.amount * elapsed / days, todate.currency)
    todate.pool_accrued += accrued
    todate.pool_to_accrue += line.amount - accrued
    if not accrued:
        return
    fallback_day, mine = min(as_of, line.period_end), (todate.department, line.pool)
    rates = index.weights(line.weights)
    weights = None if rates is None else int_weights(rates, index.pool_columns.get(mine), line.period_start.day,
                                                     line.period_end.day, index.prec)
    if weights is None or not _add_whole(steps, line.pool, int(index.sixty.divide(accrued, step)), fallback_day,
                                         weights):
        _add(steps, line.pool, accrued, pool_by_groups(line, index.pool_groups(mine), index.days), step,
             fallback_day)


def _add_whole(steps: _Steps, deployment: str, units: int, fallback_day: date, segments: list[Segment]) -> bool:
    """Split ``units`` steps (as decimal_parts counts them, in 60 digits) by integer weights
    (mtd_split.whole_parts); False where the Decimal split must."""
    weights = [weight for _meter, _days, weights in segments for weight in weights]
    if not any(weights):
        add_days(steps, (deployment, CAPACITY), [fallback_day], [units])
        return True
    parts = whole_parts(units, weights)
    if parts is None:
        return False
    at = 0
    for meter, days, weights in segments:
        add_days(steps, (deployment, meter), days, parts[at:at + len(weights)])
        at += len(weights)
    return True


def _add(steps: _Steps, deployment: str, amount: Decimal, weights: dict[Key, Decimal], step: Decimal,
         fallback_day: date) -> None:
    """Split ``amount`` by Decimal weights (mtd_split.decimal_parts)."""
    if not any(weights.values()):
        weights = {(CAPACITY, fallback_day): Decimal(1)}
    parts = decimal_parts(amount, weights, step)
    _add_parts(steps, deployment, list(parts), list(parts.values()))


def _add_parts(steps: _Steps, deployment: str, keys: list[Key], parts: list[int]) -> None:
    for (meter, day), part in zip(keys, parts, strict=True):   # add_days, one day at a time
        found = steps.get((deployment, meter))
        if found is None:
            steps[(deployment, meter)] = {day: part}
        else:
            found[day] = found.get(day, 0) + part


CELL_COLUMNS = ("deployment", "meter", "day", "quantity", "cost")


def breakdown(department: dict[str, Any], by: str) -> list[dict[str, Any]]:
    """A department's cells summed by ``deployment``, ``meter`` or ``day``: cost and quantity each."""
    index = CELL_COLUMNS.index(by)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    quantity: dict[str, Decimal] = defaultdict(Decimal)
    for cell in department["cells"]:
        cost[cell[index]] += Decimal(cell[4])
        quantity[cell[index]] += Decimal(cell[3])
    return [{by: key, "cost": str(cost[key]), "quantity": str(quantity[key])} for key in sorted(cost)]
