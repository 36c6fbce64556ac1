"""Cost per day and deployment for the invoice's "Daily usage" sheet (issue 13: cost, not tokens).

Each deployment's charged amount (the sum of its invoice lines, already rounded) is split over the days
of the month by that day's share of its cost: pay-as-you-go by the day's meter quantities at the rates in
effect that day, a pool share by the day's weighted use. The split is by largest remainder in the currency's
minor unit (billing.pools.largest_remainder), so the days of a deployment add up to its lines exactly and
the sheet's grand total is the invoice subtotal (markup and any true-up are shown as lines of their own).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from chargeback.billing.charges import DepartmentCharges, PaygLine, PoolLine
from chargeback.billing.pools import largest_remainder
from chargeback.config.model import UNITS
from chargeback.usage.daily import DailyUsageRow
from chargeback.usage.meters import METERS

_SECONDS_PER_HOUR = 3600


def _payg_weight(line: PaygLine, row: DailyUsageRow) -> Decimal:
    per_unit = Decimal(UNITS[line.unit or "1M"])
    total = Decimal(0)
    for meter in METERS:
        rate = line.rates.get(meter)
        if rate is not None:
            scale = Decimal(_SECONDS_PER_HOUR) if meter == "audio_seconds" else per_unit
            total += Decimal(row.meters.quantity(meter)) * rate / scale
    return total


def _pool_weight(line: PoolLine, row: DailyUsageRow) -> Decimal:
    return sum((Decimal(row.meters.quantity(m)) * w for m, w in line.weights.items()), Decimal(0))


def _day_weight(lines: list[PaygLine | PoolLine], row: DailyUsageRow) -> Decimal:
    for line in lines:   # the line whose price period holds the day (all subscriptions share its rates)
        if line.period_start <= row.day <= line.period_end:
            return _payg_weight(line, row) if isinstance(line, PaygLine) else _pool_weight(line, row)
    return Decimal(0)


def daily_cost(dept: DepartmentCharges | None, rows: list[DailyUsageRow],
               step: Decimal) -> tuple[dict[tuple[date, str], Decimal], Decimal]:
    """``({(day, deployment): amount}, undated)``: ``undated`` is what no day's use could carry (a deployment
    billed with no daily usage of its own, e.g. calls spilled from a pool); the sheet shows it as a row."""
    if dept is None:
        return {}, Decimal(0)
    lines: dict[str, list[PaygLine | PoolLine]] = defaultdict(list)
    for line in dept.lines:
        lines[line.deployment if isinstance(line, PaygLine) else line.pool].append(line)
    by_deployment: dict[str, list[DailyUsageRow]] = defaultdict(list)
    for row in rows:
        by_deployment[row.deployment].append(row)
    cells: dict[tuple[date, str], Decimal] = {}
    undated = Decimal(0)
    for deployment, its_lines in lines.items():
        amount = sum((line.amount for line in its_lines), Decimal(0))
        days = by_deployment.get(deployment, [])
        weights = {row.day.isoformat(): _day_weight(its_lines, row) for row in days}
        if not any(weights.values()):   # no rate applies (e.g. unpriced meters): by tokens, else undated
            weights = {row.day.isoformat(): Decimal(row.total_tokens) for row in days}
        if amount < 0 or not amount or not any(weights.values()):
            undated += amount
            continue
        for day, part in largest_remainder(amount, weights, step).items():
            cells[(date.fromisoformat(day), deployment)] = part
    return cells, undated
