"""chargeback/billing/mtd_cells.py as it was at def4b52, verbatim but for this docstring and the imports
(kept for tests/unit/billing/test_mtd_identical.py: the cells the faster code makes are these, to the byte).
With workflow/month_to_date.department_document as it was then.

Month to date per department x deployment x meter x day, from the month so far priced by price_month.

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
from itertools import compress
from typing import Any, TypeVar

from chargeback.billing.charges import MonthCharges, PaygLine, PoolLine
from chargeback.billing.forecast import forecast_total
from chargeback.billing.meter_rates import SECONDS_PER_HOUR
from chargeback.config.model import UNITS, ChargebackConfig
from chargeback.money import quantum, round_money, zero
from chargeback.usage.aggregation import GroupRow, MonthUsage
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

    def cell_rows(self) -> list[list[str]]:
        """Every cell as text, ``[deployment, meter, day, quantity, cost]`` (CELL_COLUMNS): the cells with a cost in
        order, then the cells with only a quantity (cost "0") in order."""
        cost, quantity = self.cost, self.quantity
        days: dict[date, str] = {}
        rows = []
        for cell in sorted(cost):
            deployment, meter, day = cell
            text = days.get(day) or days.setdefault(day, day.isoformat())
            rows.append([deployment, meter, text, str(quantity.get(cell, 0)), str(cost[cell])])
        for cell in sorted(quantity.keys() - cost.keys()):
            deployment, meter, day = cell
            text = days.get(day) or days.setdefault(day, day.isoformat())
            rows.append([deployment, meter, text, str(quantity[cell]), "0"])
        return rows


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
                _split_payg(todate, line, index.groups.get((line.subscription, line.deployment), []), index, step)
            else:
                _split_pool(todate, line, index.pools.get((dept.department, line.pool), []), index, step, as_of)
        out[dept.department] = todate
    return out


_AT = {meter: at for at, meter in enumerate(METERS, 2)}   # a group's counts: requests, unmetered, then FIELDS
_AUDIO = "audio_seconds"
_AUDIO_AT = _AT[_AUDIO]
_END = 2 + len(METERS)


class _Index:
    """The month's groups read once: quantity per department and cell, and the groups each line splits by
    (a pay-as-you-go line: its subscription's on its deployment; a pool line: its department's on the pool),
    in ``MonthUsage.groups()``'s order, each group's meters in ``METERS`` order: every sum below adds the same
    figures in the same order as the earlier scan of the month's flat meter rows did, so the
    split is the same to the last digit even where Decimal's context rounds (audio seconds x rate / 3600)."""

    def __init__(self, usage: MonthUsage, config: ChargebackConfig, pools: frozenset[str]):
        self.days = {day: usage.first_day + timedelta(days=day - 1) for day in range(1, 32)}
        self.quantity: dict[str, dict[Cell, int | Decimal]] = {}   # department -> cell -> quantity
        self.groups: dict[tuple[str, str], list[GroupRow]] = {}    # (subscription, deployment) -> its groups
        self.pools: dict[tuple[str, str], list[GroupRow]] = {}     # (department, pool deployment) -> its groups
        claims: dict[str, str] = {}
        for group in usage.group_rows():   # in order: each line's and cell's sums add up as they always did
            subscription, deployment, _model, day, _spilled, counts = group
            dept = claims.get(subscription)
            if dept is None:
                dept = claims[subscription] = config.department_for(subscription)
                self.quantity[dept] = self.quantity.get(dept, {})
            _list(self.groups, (subscription, deployment)).append(group)
            if deployment in pools:
                _list(self.pools, (dept, deployment)).append(group)
            quantity, date_of = self.quantity[dept], self.days[day]
            metered = counts[2:_END]   # FIELDS: METERS first, then reasoning
            for meter, amount in zip(compress(METERS, metered), compress(metered, metered), strict=True):
                cell = (deployment, meter, date_of)
                quantity[cell] = quantity.get(cell, 0) + (Decimal(amount) if meter == _AUDIO else amount)


def _list(lists: dict[tuple[str, str], list[GroupRow]], key: tuple[str, str]) -> list[GroupRow]:
    found = lists.get(key)
    if found is None:
        found = lists[key] = []
    return found


def _split_payg(todate: DepartmentToDate, line: PaygLine, groups: list[GroupRow], index: _Index,
                step: Decimal) -> None:
    """Weights: each (meter, day)'s exact list cost (billing.meter_rates.meter_cost) summed over the line's
    groups, in their order."""
    weights: dict[_Key, Decimal] = {}
    first, last, per = line.period_start.day, line.period_end.day, UNITS[line.unit or "1M"]
    rated = [(meter, _AT[meter], rate, SECONDS_PER_HOUR if meter == _AUDIO else per)
             for meter, rate in line.rates.items()]
    for _sub, _deployment, _model, day, _spilled, counts in groups:
        if first <= day <= last:
            for meter, at, rate, unit in rated:
                quantity = counts[at]
                if quantity:
                    key = (meter, index.days[day])
                    amount = Decimal(quantity) if at == _AUDIO_AT else quantity
                    weights[key] = weights.get(key, _NOTHING) + amount * rate / unit
    _add(todate, line.deployment, line.amount, weights, step, line.period_start)


def _split_pool(todate: DepartmentToDate, line: PoolLine, groups: list[GroupRow], index: _Index, step: Decimal,
                as_of: date) -> None:
    """Weights: each (meter, day)'s weighted tokens (every meter used, weight 0 where the pool names none)."""
    days = (line.period_end - line.period_start).days + 1
    elapsed = max(0, min(days, (as_of - line.period_start).days + 1))
    accrued = round_money(line.amount * elapsed / days, todate.currency)
    todate.pool_accrued += accrued
    todate.pool_to_accrue += line.amount - accrued
    weights: dict[_Key, Decimal] = {}
    first, last = line.period_start.day, line.period_end.day
    weighed = [(meter, at, line.weights.get(meter, _NOTHING)) for meter, at in _AT.items()]
    for _sub, _deployment, _model, day, _spilled, counts in groups:
        if first <= day <= last:
            for meter, at, weight in weighed:
                quantity = counts[at]
                if quantity:
                    key = (meter, index.days[day])
                    weights[key] = weights.get(key, _NOTHING) + weight * (Decimal(quantity) if at == _AUDIO_AT
                                                                          else quantity)
    _add(todate, line.pool, accrued, weights, step, min(as_of, line.period_end))


def _add(todate: DepartmentToDate, deployment: str, amount: Decimal, weights: dict[_Key, Decimal],
         step: Decimal, fallback_day: date) -> None:
    if not amount:
        return
    if not any(weights.values()):
        weights = {(CAPACITY, fallback_day): Decimal(1)}
    nothing = zero(todate.currency)
    cost = todate.cost
    for (meter, day), units in _split_units(amount, weights, step).items():
        cell = (deployment, meter, day)
        cost[cell] = cost.get(cell, nothing) + units * step


def _split(total: Decimal, weights: dict[K, Decimal], step: Decimal) -> dict[K, Decimal]:
    """Largest remainder as chargeback.billing.pools.largest_remainder: the parts sum to ``total`` exactly."""
    return {key: units * step for key, units in _split_units(total, weights, step).items()}


def _split_units(total: Decimal, weights: dict[K, Decimal], step: Decimal) -> dict[K, int]:
    """``_split`` in whole ``step``s: each key gets the floor of its exact share, the steps left over go one each
    to the largest remainders, ties to the smallest key. In 60-digit Decimal rather than Fraction: a month has
    thousands of cells, and only the order of the remainders, not their exact value, decides anything here.

    A line's keys are (meter, day) and tie in tuple order, which is the order of their ``meter|YYYY-MM-DD``
    text, as they always have: no meter's name is the start of another's (tests/unit/billing/
    test_mtd_cells_reference)."""
    with localcontext() as ctx:
        ctx.prec = 60
        units = int(total / step)
        whole = sum(weights.values(), Decimal(0))
        parts: dict[K, int] = {}
        remainders: list[tuple[Decimal, K]] = []   # minus the remainder (the largest sorts first), then the key
        scale = Decimal(units)   # converted once, not per key (the product is the same)
        for key, weight in weights.items():
            exact = scale * weight / whole
            part = parts[key] = int(exact)   # exact >= 0: int() is the floor
            remainders.append((part - exact, key))
        left_over = units - sum(parts.values())
        if left_over:
            for _remainder, key in heapq.nsmallest(left_over, remainders):
                parts[key] += 1
    return parts


def department_document(config: ChargebackConfig, month: str, day: date, t: DepartmentToDate,
                        pools: frozenset[str]) -> dict[str, Any]:
    """One department's month so far, as JSON: totals, budget, forecast and its cells."""
    dept = config.department(t.department)
    budget = dept.budget if dept else None
    payg_daily = t.daily_cost(exclude_pools=True, pools=pools)
    forecast = forecast_total(payg_daily, month, day, t.pool_accrued + t.pool_to_accrue, t.markup_percent,
                              t.currency)
    return {
        "department": t.department, "name": dept.name if dept else t.department,
        "subtotal": str(t.subtotal), "markup": str(t.markup), "total": str(t.total), "forecast": str(forecast),
        "budget": budget.to_dict() if budget else None,
        "cells": t.cell_rows()}
