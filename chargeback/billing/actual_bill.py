"""The actual bill (DESIGN.md "Actual bill"): Azure's cost of the month allocated to departments by use.

Per ``actuals.meters`` target: a deployment meter's actual cost goes to each department as cost x its
measured quantity / the billed quantity, and the part of the billed quantity nobody measured (usage that
bypassed the gateway) to ``unallocated``; where measured exceeds billed, shares are by measured quantity.
A pool's actual cost is shared by weighted use, as list pricing shares it. Unmapped rows go to
``unallocated``. Shares stay exact (rational) until the end: the month's actual cost is rounded once and
apportioned by largest remainder, so department totals sum to it exactly, to the minor unit.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from chargeback.actuals.model import MappedCost, MonthActuals
from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine
from chargeback.billing.reconcile import drift_warnings
from chargeback.config.model import UNALLOCATED, ChargebackConfig
from chargeback.money import quantum, round_money
from chargeback.months import month_bounds
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.meters import NO_USAGE, MeterQuantities

UNMAPPED, UNMEASURED = "unmapped", "unmeasured"
TRUE_UP_DEPLOYMENT = "true-up to Azure's actual bill"
_SECONDS_PER_HOUR = 3600


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


def allocate_actual_bill(charges: MonthCharges, usage: MonthUsage, actuals: MonthActuals,
                         config: ChargebackConfig) -> ActualBill:
    """Allocate ``actuals`` to the departments of ``charges`` (the list-priced month) by ``usage``; pure."""
    return allocate(charges.month, charges.currency, actuals, measured_by_deployment(usage, config), _pool_use(charges))


def allocate(month: str, currency: str, actuals: MonthActuals, measured: dict[str, dict[str, MeterQuantities]],
             weighted: dict[str, dict[str, Fraction]]) -> ActualBill:
    """The allocation itself: ``measured`` is deployment -> department -> quantities, ``weighted`` is
    pool -> department -> weighted tokens."""
    by_target: dict[str, dict[str, Fraction]] = {}
    warnings: list[str] = []
    for mapped in actuals.mapped:
        if mapped.pool is not None:
            by_target[mapped.target] = _pool_shares(mapped, weighted.get(mapped.pool, {}), warnings)
        else:
            by_target[mapped.target] = _meter_shares(mapped, measured.get(str(mapped.deployment), {}), warnings)
    if actuals.unmapped:
        by_target[UNMAPPED] = {UNALLOCATED: Fraction(actuals.unmapped_cost)}
        names = ", ".join(u.meter_name for u in actuals.unmapped[:5])
        warnings.append(f"{len(actuals.unmapped)} meter(s) of the actual bill are not in actuals.meters ({names}"
                        f"{', ...' if len(actuals.unmapped) > 5 else ''}): {actuals.unmapped_cost} "
                        f"{actuals.currency} to {UNALLOCATED}")
    exact: dict[str, Fraction] = defaultdict(Fraction)
    for shares in by_target.values():
        for dept, share in shares.items():
            exact[dept] += share
    step = quantum(currency)
    total = round_money(actuals.total_cost, currency)
    whole = Fraction(actuals.total_cost)
    units = int(total / step)
    # rescaled to the rounded total (when nothing is billed, or credits cancel costs, the shares already sum to 0)
    scaled = {d: (v * Fraction(total) / whole if whole else v) / Fraction(step) for d, v in exact.items()}
    departments = {d: n * step for d, n in sorted(apportion(units, scaled).items())}
    return ActualBill(month=month, currency=currency, actual_cost=actuals.total_cost, total=total,
                      departments=departments, by_target=by_target, warnings=tuple(warnings))


def apply_actual_bill(charges: MonthCharges, usage: MonthUsage, actuals: MonthActuals | None,
                      config: ChargebackConfig) -> MonthCharges:
    """The month as ``actuals.mode`` invoices it: at ``list`` the same charges (with drift warnings when the
    month has actuals); otherwise every department's total lands on its part of the actual bill through one
    true-up line beside its list-price lines."""
    mode = config.actuals.mode if config.actuals is not None else "list"
    if actuals is not None and config.actuals is not None and actuals.currency == charges.currency:
        drift = drift_warnings(charges, measured_by_deployment(usage, config), actuals,
                               config.actuals.drift_warn_percent)
        charges = replace(charges, warnings=(*charges.warnings, *drift))
    if mode == "list":
        return charges
    if actuals is None:
        return replace(charges, warnings=(*charges.warnings, f"actuals mode is {mode} but no actuals are imported "
                       f"for {charges.month}: invoiced at list prices (chargeback actuals import FILE --month "
                       f"{charges.month}, then run the month again)"))
    if actuals.currency != charges.currency:
        return replace(charges, warnings=(*charges.warnings, f"the actuals of {charges.month} are in "
                       f"{actuals.currency}, invoices in {charges.currency}: invoiced at list prices"))
    bill = allocate_actual_bill(charges, usage, actuals, config)
    remaining = dict(bill.departments)
    departments = [_trued_up(d, remaining.pop(d.department, _zero(charges)), charges, config)
                   for d in charges.departments]
    for dept, amount in remaining.items():   # e.g. unallocated, which list pricing charged nothing
        departments.append(_trued_up(DepartmentCharges(dept, "Unallocated" if dept == UNALLOCATED else dept, "", (),
                                                       _zero(charges), _zero(charges), _zero(charges)),
                                     amount, charges, config))
    listed = sum((d.subtotal for d in charges.departments), Decimal(0))
    note = (f"mode {mode}: invoiced at Azure's actual bill of {bill.total} {charges.currency} "
            f"({actuals.export_format} export {actuals.source}); list prices came to {listed}")
    return replace(charges, departments=tuple(departments), warnings=(*charges.warnings, note, *bill.warnings),
                   grand_total=sum((d.total for d in departments), _zero(charges)))


def measured_by_deployment(usage: MonthUsage, config: ChargebackConfig) -> dict[str, dict[str, MeterQuantities]]:
    """deployment -> department -> the meter quantities measured at the gateway."""
    out: dict[str, dict[str, MeterQuantities]] = defaultdict(dict)
    for key, totals in usage.groups():
        dept = config.department_for(key.subscription)
        out[key.deployment][dept] = out[key.deployment].get(dept, NO_USAGE) + totals.meters
    return out


def _pool_use(charges: MonthCharges) -> dict[str, dict[str, Fraction]]:
    """pool -> department -> weighted tokens, over all the month's periods of the pool (its PoolLines)."""
    out: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for dept in charges.departments:
        for line in dept.lines:
            if isinstance(line, PoolLine):
                out[line.pool][dept.department] += Fraction(line.weighted_tokens)
    return out


def _meter_shares(mapped: MappedCost, by_dept: dict[str, MeterQuantities], warnings: list[str]) -> dict[str, Fraction]:
    cost, meter = Fraction(mapped.cost), str(mapped.meter)
    per_hour = meter == "audio_seconds" and mapped.unit.casefold() in ("hour", "hours")
    billed = Fraction(mapped.quantity) * (_SECONDS_PER_HOUR if per_hour else 1)
    used = {d: Fraction(q.quantity(meter)) for d, q in by_dept.items() if q.quantity(meter)}
    measured = sum(used.values(), Fraction(0))
    if not measured:
        warnings.append(f"{mapped.target}: Azure billed {mapped.cost} but the gateway measured no use: "
                        f"to {UNALLOCATED}")
        return {UNALLOCATED: cost}
    if measured > billed:   # more measured than billed (a lag, a free tier): shares by measured quantity
        return {d: cost * q / measured for d, q in used.items()}
    shares = {d: cost * q / billed for d, q in used.items()}
    if measured < billed:
        shares[UNALLOCATED] = shares.get(UNALLOCATED, Fraction(0)) + cost * (billed - measured) / billed
    return shares


def _pool_shares(mapped: MappedCost, weighted: dict[str, Fraction], warnings: list[str]) -> dict[str, Fraction]:
    total = sum(weighted.values(), Fraction(0))
    if not total:
        warnings.append(f"{mapped.target}: no weighted use of the pool: its actual {mapped.cost} to {UNALLOCATED}")
        return {UNALLOCATED: Fraction(mapped.cost)}
    return {d: Fraction(mapped.cost) * w / total for d, w in weighted.items() if w}


def _trued_up(dept: DepartmentCharges, actual: Decimal, charges: MonthCharges,
              config: ChargebackConfig) -> DepartmentCharges:
    first, after = month_bounds(charges.month)
    adjustment = actual - dept.subtotal
    # A pay-as-you-go line with no usage, so every renderer shows it as it shows lines today. Rates are 0,
    # not None: the workbook writes the three first-release rate columns as numbers.
    zero = Decimal(0)
    line = PaygLine(subscription="(Azure actual bill)", deployment=TRUE_UP_DEPLOYMENT, models=(),
                    period_start=first, period_end=after - timedelta(days=1), unit=None, input_rate=zero,
                    cached_input_rate=zero, output_rate=zero, requests=0, unmetered=0, prompt_tokens=0,
                    cached_tokens=0, completion_tokens=0, reasoning_tokens=0, exact_amount=adjustment,
                    amount=adjustment, meters=NO_USAGE, rates={}, price_from=None)
    markup = round_money(actual * config.markup_percent / 100, charges.currency)
    return replace(dept, lines=(*dept.lines, line), subtotal=actual, markup=markup, total=actual + markup)


def _zero(charges: MonthCharges) -> Decimal:
    return round_money(Decimal(0), charges.currency)
