"""The actual bill (DESIGN.md "Actual bill"): Azure's cost of the month allocated to departments by use.

Per ``actuals.meters`` target: a deployment meter's actual cost goes to each department as cost x its
measured quantity / the billed quantity, and the part of the billed quantity nobody measured (usage that
bypassed the gateway) to ``unallocated``; where measured exceeds billed, shares are by measured quantity.
A pool's actual cost is shared by weighted use, as list pricing shares it. Unmapped rows go to
``unallocated``. Shares stay exact (rational) until the end: the month's actual cost is rounded once and
apportioned by largest remainder, so department totals sum to it exactly, to the minor unit.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from chargeback.actuals.model import MappedCost, MonthActuals
from chargeback.billing.actual_lines import UNMAPPED, ActualBill, apportion, billed_quantity, department_lines
from chargeback.billing.charges import ActualLine, DepartmentCharges, MonthCharges, PoolLine, TrueUpLine
from chargeback.billing.reconcile import drift_warnings, reconciliation
from chargeback.config.model import UNALLOCATED, ChargebackConfig
from chargeback.money import quantum, round_money, zero
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.meters import NO_USAGE, MeterQuantities

__all__ = ["UNMAPPED", "ActualBill", "allocate", "allocate_actual_bill", "apply_actual_bill", "apportion"]


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
    """The month as ``actuals.mode`` invoices it: at ``list`` the same charges (with drift warnings and the
    reconciliation when the month has actuals); at ``actual`` each department's lines are its parts of Azure's
    cost per meter and pool; at ``true_up`` its list-price lines stay and one true-up line lands its total on
    what ``actual`` charges it."""
    mode = config.actuals.mode if config.actuals is not None else "list"
    if actuals is not None and config.actuals is not None and actuals.currency == charges.currency:
        measured = measured_by_deployment(usage, config)
        limit = config.actuals.drift_warn_percent
        charges = replace(charges, warnings=(*charges.warnings, *drift_warnings(charges, measured, actuals, limit)),
                          reconciliation=reconciliation(charges, measured, actuals, limit))
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
    lines = department_lines(bill, actuals, measured_by_deployment(usage, config), _pool_use(charges))
    source = f"{actuals.export_format} export {actuals.source}"
    nothing = zero(charges.currency)
    known = list(charges.departments)
    for dept in bill.departments:   # e.g. unallocated, which list pricing charged nothing
        if charges.department(dept) is None:
            known.append(DepartmentCharges(dept, "Unallocated" if dept == UNALLOCATED else dept, "", (),
                                           nothing, nothing, nothing))
    departments = [_on_actual(d, mode, bill.departments.get(d.department, nothing), lines.get(d.department, ()),
                              source, charges.currency, config) for d in known]
    listed = sum((d.subtotal for d in charges.departments), nothing)
    note = (f"mode {mode}: invoiced at Azure's actual bill of {bill.total} {charges.currency} "
            f"({source}); list prices came to {listed}")
    return replace(charges, departments=tuple(departments), warnings=(*charges.warnings, note, *bill.warnings),
                   grand_total=sum((d.total for d in departments), nothing), mode=mode)


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
    billed = Fraction(billed_quantity(mapped))
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


def _on_actual(dept: DepartmentCharges, mode: str, actual: Decimal, lines: tuple[ActualLine, ...], source: str,
               currency: str, config: ChargebackConfig) -> DepartmentCharges:
    """The department at its part of the actual bill: its actual lines, and in true_up its true-up line."""
    true_up = TrueUpLine(list_subtotal=dept.subtotal, actual=actual, amount=actual - dept.subtotal,
                         source=source) if mode == "true_up" else None
    markup = round_money(actual * config.markup_percent / 100, currency)
    return replace(dept, actual_lines=lines, true_up=true_up, subtotal=actual, markup=markup, total=actual + markup)
