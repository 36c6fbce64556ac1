"""The actual bill line by line: each department's part of every ``actuals.meters`` target, to the minor unit.

A department's total (``ActualBill.departments``) is split over the targets it has a share of, by its exact
shares (``ActualBill.by_target``), largest remainder: so its lines sum to its total exactly, and its total
is what the allocation gave it (the month's lines sum to the actual bill).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from chargeback.actuals.model import MappedCost, MonthActuals
from chargeback.billing.charges import ActualLine
from chargeback.money import quantum
from chargeback.usage.meters import MeterQuantities

UNMAPPED = "unmapped"
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class ActualBill:
    """Azure's cost of the month, allocated: ``departments`` sums to ``total`` exactly."""

    month: str
    currency: str
    actual_cost: Decimal                        # exact, as the export summed it
    total: Decimal                              # rounded once
    departments: dict[str, Decimal]             # department -> its part of the actual bill
    by_target: dict[str, dict[str, Fraction]]   # target -> department -> exact share (for explaining)
    warnings: tuple[str, ...]


def apportion(total_units: int, exact: dict[str, Fraction]) -> dict[str, int]:
    """Whole units per key summing to ``total_units``, from exact shares that sum to it (any sign):
    each key gets the floor of its share, the units left over go to the largest remainders (ties: key)."""
    if sum(exact.values(), Fraction(0)) != total_units:
        raise ValueError("the exact shares must sum to the total")
    parts = {k: math.floor(v) for k, v in exact.items()}
    left_over = total_units - sum(parts.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:left_over]:
        parts[key] += 1
    return parts


def billed_quantity(mapped: MappedCost) -> Decimal:
    """The billed quantity in the gateway's unit: audio billed per hour is counted in seconds."""
    per_hour = mapped.meter == "audio_seconds" and mapped.unit.casefold() in ("hour", "hours")
    return mapped.quantity * (SECONDS_PER_HOUR if per_hour else 1)


def department_lines(bill: ActualBill, actuals: MonthActuals, measured: dict[str, dict[str, MeterQuantities]],
                     weighted: dict[str, dict[str, Fraction]]) -> dict[str, tuple[ActualLine, ...]]:
    """department -> its actual lines (target order of the export), each line's amount to the minor unit."""
    step = quantum(bill.currency)
    amounts = _split_departments(bill, step)
    out: dict[str, tuple[ActualLine, ...]] = {}
    for dept, by_target in amounts.items():
        lines = []
        for target, amount in by_target.items():
            mapped = actuals.for_target(target)
            lines.append(_line(target, mapped, actuals, dept, amount, measured, weighted))
        out[dept] = tuple(lines)
    return out


def _split_departments(bill: ActualBill, step: Decimal) -> dict[str, dict[str, Decimal]]:
    scale = Fraction(bill.total) / Fraction(bill.actual_cost) if bill.actual_cost else Fraction(1)
    out: dict[str, dict[str, Decimal]] = {}
    for dept, total in bill.departments.items():
        exact = {t: shares[dept] * scale / Fraction(step) for t, shares in bill.by_target.items() if dept in shares}
        units = int(total / step)
        exact = _onto(exact, units)
        out[dept] = {t: n * step for t, n in apportion(units, exact).items()}
    return out


def _onto(exact: dict[str, Fraction], units: int) -> dict[str, Fraction]:
    """Shares moved onto ``units`` (the department's rounded total): the gap (under one unit per department
    after the bill's rounding) is spread by the shares' sizes, or evenly when every share is 0."""
    gap = units - sum(exact.values(), Fraction(0))
    size = sum((abs(v) for v in exact.values()), Fraction(0))
    if not exact:
        return {UNMAPPED: Fraction(units)}
    return {t: v + gap * (abs(v) / size if size else Fraction(1, len(exact))) for t, v in exact.items()}


def _line(target: str, mapped: MappedCost | None, actuals: MonthActuals, dept: str, amount: Decimal,
          measured: dict[str, dict[str, MeterQuantities]], weighted: dict[str, dict[str, Fraction]]) -> ActualLine:
    if mapped is None:   # the unmapped rows, together
        return ActualLine(target=target, deployment=None, meter=None, pool=None,
                          meter_names=tuple(u.meter_name for u in actuals.unmapped), measured=Decimal(0),
                          billed=Decimal(0), unit="", actual_cost=actuals.unmapped_cost, amount=amount)
    if mapped.pool is not None:
        use = weighted.get(mapped.pool, {})
        mine, whole = use.get(dept, Fraction(0)), sum(use.values(), Fraction(0))
        return ActualLine(target=target, deployment=None, meter=None, pool=mapped.pool,
                          meter_names=mapped.meter_names, measured=_decimal(mine), billed=_decimal(whole),
                          unit="weighted tokens", actual_cost=mapped.cost, amount=amount)
    quantities = measured.get(str(mapped.deployment), {}).get(dept)
    mine_q = Decimal(quantities.quantity(str(mapped.meter))) if quantities is not None else Decimal(0)
    return ActualLine(target=target, deployment=mapped.deployment, meter=mapped.meter, pool=None,
                      meter_names=mapped.meter_names, measured=mine_q, billed=billed_quantity(mapped),
                      unit=mapped.unit, actual_cost=mapped.cost, amount=amount)


def _decimal(value: Fraction) -> Decimal:
    """Weighted tokens: whole or a few decimals (weights are decimals), exact for any sane weight."""
    return Decimal(value.numerator) / Decimal(value.denominator)
