"""Month to date per department x deployment x meter x day, from the month so far priced by price_month.

Every cost figure comes from a priced line, split so the parts sum to it exactly (largest remainder, to the
currency's minor unit): a pay-as-you-go line by each (meter, day)'s exact list cost; a pool line by each
(meter, day)'s weighted tokens. A pool's cost accrues by day: month to date shows the department's share
of the pool period's days elapsed (``line.amount x elapsed / days``, rounded once), and its whole share as
what the month will cost. A pool share with no weighted usage lands on meter ``capacity``.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any, TypeVar

from chargeback.billing.charges import MonthCharges, PaygLine, PoolLine
from chargeback.billing.meter_rates import meter_cost
from chargeback.config.model import ChargebackConfig
from chargeback.money import quantum, round_money, zero
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.meters import METERS

CAPACITY = "capacity"   # the meter of a pool share no weighted usage explains
Cell = tuple[str, str, date]   # deployment, meter, day
_Key = tuple[str, date]        # meter, day: a line's part
K = TypeVar("K")
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
        return round_money(self.subtotal * self.markup_percent / 100, self.currency)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.markup

    def daily_cost(self, exclude_pools: bool = True, pools: frozenset[str] = frozenset()) -> dict[date, Decimal]:
        """Cost per day (pool deployments left out when ``exclude_pools``: they accrue by day, not by use)."""
        out: dict[date, Decimal] = defaultdict(lambda: zero(self.currency))
        for (deployment, _meter, day), cost in self.cost.items():
            if not (exclude_pools and deployment in pools):
                out[day] += cost
        return dict(out)


def month_to_date(charges: MonthCharges, usage: MonthUsage, config: ChargebackConfig,
                  as_of: date) -> dict[str, DepartmentToDate]:
    """Every department's cells as of ``as_of`` (the day of the refresh, counted as elapsed)."""
    step = quantum(charges.currency)
    index = _Index(usage, config, frozenset(p.deployment for p in charges.pools))
    out: dict[str, DepartmentToDate] = {}
    for dept in charges.departments:
        todate = DepartmentToDate(dept.department, charges.currency, markup_percent=charges.markup_percent)
        todate.quantity = index.quantity.get(dept.department, {})
        for line in dept.lines:
            if isinstance(line, PaygLine):
                _split_payg(todate, line, index.payg.get((line.subscription, line.deployment), []), step)
            else:
                _split_pool(todate, line, index.pool.get((dept.department, line.pool), []), step, as_of)
        out[dept.department] = todate
    return out


_Row = tuple[date, str, int | Decimal]   # day, meter, quantity: one non-zero meter of one group
_INDEXED = tuple(enumerate(METERS, 2))   # a group's counts: requests, unmetered, then FIELDS (METERS first)


class _Index:
    """The month's non-zero meters, read once: quantity per department and cell, and the rows each line splits
    by, in ``MonthUsage.groups()`` order (each group's meters in ``METERS`` order), as a line's scan of them
    always was (a pay-as-you-go line's weights are summed in that order)."""

    def __init__(self, usage: MonthUsage, config: ChargebackConfig, pools: frozenset[str]):
        self.quantity: dict[str, dict[Cell, int | Decimal]] = {}   # department -> cell -> quantity
        self.payg: dict[tuple[str, str], list[_Row]] = {}          # (subscription, deployment) -> rows
        self.pool: dict[tuple[str, str], list[_Row]] = {}          # (department, pool deployment) -> rows
        claims: dict[str, str] = {}
        days = {day: usage.first_day + timedelta(days=day - 1) for day in range(1, 32)}
        for subscription, deployment, _model, day_of_month, _spilled, counts in usage.group_rows():
            dept = claims.get(subscription)
            if dept is None:
                dept = claims[subscription] = config.department_for(subscription)
            quantity = self.quantity.get(dept)
            if quantity is None:
                quantity = self.quantity[dept] = {}
            rows = _list(self.payg, (subscription, deployment))
            pool_rows = _list(self.pool, (dept, deployment)) if deployment in pools else None
            day = days[day_of_month]
            for at, meter in _INDEXED:
                amount = counts[at]
                if amount:
                    if meter == "audio_seconds":
                        amount = Decimal(amount)
                    cell = (deployment, meter, day)
                    quantity[cell] = quantity.get(cell, 0) + amount
                    rows.append((day, meter, amount))
                    if pool_rows is not None:
                        pool_rows.append((day, meter, amount))


def _list(lists: dict[tuple[str, str], list[_Row]], key: tuple[str, str]) -> list[_Row]:
    found = lists.get(key)
    if found is None:
        found = lists[key] = []
    return found


def _split_payg(todate: DepartmentToDate, line: PaygLine, rows: list[_Row], step: Decimal) -> None:
    weights: dict[_Key, Decimal] = {}
    start, end, rates, unit = line.period_start, line.period_end, line.rates, line.unit
    for day, meter, quantity in rows:
        if start <= day <= end and meter in rates:
            key = (meter, day)
            weights[key] = weights.get(key, _NOTHING) + meter_cost(meter, quantity, rates[meter], unit)
    _add(todate, line.deployment, line.amount, weights, step, line.period_start)


def _split_pool(todate: DepartmentToDate, line: PoolLine, rows: list[_Row], step: Decimal, as_of: date) -> None:
    days = (line.period_end - line.period_start).days + 1
    elapsed = max(0, min(days, (as_of - line.period_start).days + 1))
    accrued = round_money(line.amount * elapsed / days, todate.currency)
    todate.pool_accrued += accrued
    todate.pool_to_accrue += line.amount - accrued
    weights: dict[_Key, Decimal] = {}
    start, end, pool_weights = line.period_start, line.period_end, line.weights
    for day, meter, quantity in rows:
        if start <= day <= end:
            key = (meter, day)
            weights[key] = weights.get(key, _NOTHING) + pool_weights.get(meter, _NOTHING) * quantity
    _add(todate, line.pool, accrued, weights, step, min(as_of, line.period_end))


def _add(todate: DepartmentToDate, deployment: str, amount: Decimal, weights: dict[_Key, Decimal],
         step: Decimal, fallback_day: date) -> None:
    if not amount:
        return
    if not any(weights.values()):
        weights = {(CAPACITY, fallback_day): Decimal(1)}
    nothing = zero(todate.currency)
    cost = todate.cost
    for (meter, day), part in _split(amount, weights, step).items():
        cell = (deployment, meter, day)
        cost[cell] = cost.get(cell, nothing) + part


def _split(total: Decimal, weights: dict[K, Decimal], step: Decimal) -> dict[K, Decimal]:
    """Largest remainder as chargeback.billing.pools.largest_remainder (the parts sum to ``total`` exactly,
    ties to the smallest key), in 60-digit Decimal rather than Fraction: a month has thousands of cells, and
    only the order of the remainders, not their exact value, decides anything here.

    A line's keys are (meter, day) and tie in tuple order, which is the order of their ``meter|YYYY-MM-DD``
    text, as they always have: no meter's name is the start of another's (tests/unit/billing/
    test_mtd_cells_reference)."""
    with localcontext() as ctx:
        ctx.prec = 60
        units = int(total / step)
        whole = sum(weights.values(), Decimal(0))
        parts: dict[K, int] = {}
        remainders: list[tuple[Decimal, K]] = []   # minus the remainder: the largest sorts first
        for key, weight in weights.items():
            exact = units * weight / whole
            part = parts[key] = int(exact)   # exact >= 0: int() is the floor
            remainders.append((part - exact, key))
        left_over = units - sum(parts.values())
        if left_over:
            for _remainder, key in heapq.nsmallest(left_over, remainders):
                parts[key] += 1
    return {k: n * step for k, n in parts.items()}


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
