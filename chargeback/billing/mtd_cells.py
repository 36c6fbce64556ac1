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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any, TypeVar

from chargeback.billing.charges import MonthCharges, PaygLine, PoolLine
from chargeback.billing.meter_rates import meter_cost
from chargeback.config.model import ChargebackConfig
from chargeback.money import quantum, round_money, zero
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.meter_rows import meter_rows

CAPACITY = "capacity"   # the meter of a pool share no weighted usage explains
Cell = tuple[str, str, date]   # deployment, meter, day
_Key = tuple[str, date]        # meter, day: a line's part
K = TypeVar("K")


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
    groups = _groups_by_department(usage, config)
    out: dict[str, DepartmentToDate] = {}
    for dept in charges.departments:
        todate = DepartmentToDate(dept.department, charges.currency, markup_percent=charges.markup_percent)
        mine = groups.get(dept.department, [])
        by_deployment: dict[str, list[_Group]] = defaultdict(list)   # each line scans only its own groups
        by_subscription: dict[tuple[str, str], list[_Group]] = defaultdict(list)
        for group in mine:
            sub, deployment, day, meter, quantity = group
            cell = (deployment, meter, day)
            todate.quantity[cell] = todate.quantity.get(cell, 0) + quantity
            by_deployment[deployment].append(group)
            by_subscription[(sub, deployment)].append(group)
        for line in dept.lines:
            if isinstance(line, PaygLine):
                _split_payg(todate, line, by_subscription.get((line.subscription, line.deployment), []), step)
            else:
                _split_pool(todate, line, by_deployment.get(line.pool, []), step, as_of)
        out[dept.department] = todate
    return out


_Group = tuple[str, str, date, str, int | Decimal]   # subscription, deployment, day, meter, quantity


def _groups_by_department(usage: MonthUsage, config: ChargebackConfig) -> dict[str, list[_Group]]:
    out: dict[str, list[_Group]] = defaultdict(list)
    departments: dict[str, list[_Group]] = {}   # subscription -> its department's list
    for row in meter_rows(usage):
        mine = departments.get(row[0])
        if mine is None:
            mine = departments[row[0]] = out[config.department_for(row[0])]
        mine.append(row)
    return out


def _split_payg(todate: DepartmentToDate, line: PaygLine, groups: list[_Group], step: Decimal) -> None:
    weights: dict[_Key, Decimal] = defaultdict(Decimal)
    for sub, deployment, day, meter, quantity in groups:
        if (sub == line.subscription and deployment == line.deployment and line.period_start <= day
                <= line.period_end and meter in line.rates):
            weights[(meter, day)] += meter_cost(meter, quantity, line.rates[meter], line.unit)
    _add(todate, line.deployment, line.amount, weights, step, line.period_start)


def _split_pool(todate: DepartmentToDate, line: PoolLine, groups: list[_Group], step: Decimal, as_of: date) -> None:
    days = (line.period_end - line.period_start).days + 1
    elapsed = max(0, min(days, (as_of - line.period_start).days + 1))
    accrued = round_money(line.amount * elapsed / days, todate.currency)
    todate.pool_accrued += accrued
    todate.pool_to_accrue += line.amount - accrued
    weights: dict[_Key, Decimal] = defaultdict(Decimal)
    for _sub, deployment, day, meter, quantity in groups:
        if deployment == line.pool and line.period_start <= day <= line.period_end:
            weights[(meter, day)] += line.weights.get(meter, Decimal(0)) * quantity
    _add(todate, line.pool, accrued, weights, step, min(as_of, line.period_end))


def _add(todate: DepartmentToDate, deployment: str, amount: Decimal, weights: dict[_Key, Decimal],
         step: Decimal, fallback_day: date) -> None:
    if not amount:
        return
    if not any(weights.values()):
        weights = {(CAPACITY, fallback_day): Decimal(1)}
    nothing = zero(todate.currency)
    for (meter, day), part in _split(amount, weights, step, _tie).items():
        cell = (deployment, meter, day)
        todate.cost[cell] = todate.cost.get(cell, nothing) + part


def _split(total: Decimal, weights: dict[K, Decimal], step: Decimal,
           tie: Callable[[K], Any] = lambda key: key) -> dict[K, Decimal]:
    """Largest remainder as chargeback.billing.pools.largest_remainder (the parts sum to ``total`` exactly,
    ties to the smallest ``tie(key)``; a line's parts tie by their ``meter|YYYY-MM-DD`` text, as they always
    have), in 60-digit Decimal rather than Fraction: a month has thousands of cells, and only the order of the
    remainders, not their exact value, decides anything here."""
    with localcontext() as ctx:
        ctx.prec = 60
        units = int(total / step)
        whole = sum(weights.values(), Decimal(0))
        exact = {k: units * w / whole for k, w in weights.items()}
        parts = {k: int(share.to_integral_value(rounding=ROUND_FLOOR)) for k, share in exact.items()}
        left_over = units - sum(parts.values())
        for key in heapq.nsmallest(left_over, exact, key=lambda k: (-(exact[k] - parts[k]), tie(k))):
            parts[key] += 1
    return {k: n * step for k, n in parts.items()}


def _tie(key: _Key) -> str:
    return f"{key[0]}|{key[1].isoformat()}"


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
