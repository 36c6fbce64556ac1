"""Reconciling the list-priced month with Azure's actual bill: drift per meter, as warnings finance reads.

Per ``actuals.meters`` target: measured vs billed quantity (the share of usage that bypassed the gateway,
or was measured but not billed) and list vs actual cost; a warning where either differs by more than
``actuals.drift_warn_percent`` (default 2).
"""
from __future__ import annotations

from decimal import Decimal

from chargeback.actuals.model import MappedCost, MonthActuals
from chargeback.billing import meter_rates
from chargeback.billing.actual_lines import billed_quantity
from chargeback.billing.charges import MonthCharges, PaygLine, ReconciledMeter
from chargeback.usage.meters import MeterQuantities

_HUNDRED = Decimal(100)


def drift_warnings(charges: MonthCharges, measured: dict[str, dict[str, MeterQuantities]], actuals: MonthActuals,
                   drift_warn_percent: Decimal) -> tuple[str, ...]:
    """One warning per target whose quantity or cost drifts beyond ``drift_warn_percent``."""
    out = []
    for mapped in actuals.mapped:
        if mapped.pool is not None:
            listed = sum((p.cost for p in charges.pools if p.deployment == mapped.pool), Decimal(0))
            quantity = ""
        else:
            listed = _list_cost(charges, str(mapped.deployment), str(mapped.meter))
            quantity = _quantity_drift(mapped, measured.get(str(mapped.deployment), {}), drift_warn_percent)
        cost = _percent(mapped.cost - listed, listed)
        cost_drifts = mapped.cost != listed if cost is None else abs(cost) > drift_warn_percent
        if cost_drifts or quantity:
            shown = f"{cost:+.1f}%" if cost is not None else "no list cost"
            out.append(f"actual bill drift on {mapped.target}: list {listed:.2f}, actual {mapped.cost:.2f} "
                       f"{actuals.currency} ({shown}){quantity}")
    return tuple(out)


def reconciliation(charges: MonthCharges, measured: dict[str, dict[str, MeterQuantities]], actuals: MonthActuals,
                   drift_warn_percent: Decimal) -> tuple[ReconciledMeter, ...]:
    """Per target, then per unmapped meter: measured vs billed quantity, list vs actual cost, the difference."""
    out = [_reconciled(charges, measured, mapped, drift_warn_percent) for mapped in actuals.mapped]
    for unmapped in actuals.unmapped:   # no list cost: Azure's cost all goes to unallocated
        out.append(ReconciledMeter(
            target=f"unmapped: {unmapped.meter_name}", meter_names=(unmapped.meter_name,), measured=Decimal(0),
            billed=unmapped.quantity, unit=unmapped.unit, bypassed_percent=None, list_cost=Decimal(0),
            actual_cost=unmapped.cost, difference=unmapped.cost, drift_percent=None, warn=bool(unmapped.cost)))
    return tuple(out)


def _reconciled(charges: MonthCharges, measured: dict[str, dict[str, MeterQuantities]], mapped: MappedCost,
                limit: Decimal) -> ReconciledMeter:
    if mapped.pool is not None:   # a pool bills hours; what the gateway measured is weighted use
        listed = sum((p.cost for p in charges.pools if p.deployment == mapped.pool), Decimal(0))
        use = sum((p.weighted_tokens for p in charges.pools if p.deployment == mapped.pool), Decimal(0))
        billed, unit, bypassed = mapped.quantity, mapped.unit, None
    else:
        listed = _list_cost(charges, str(mapped.deployment), str(mapped.meter))
        use = sum((Decimal(q.quantity(str(mapped.meter))) for q in measured.get(str(mapped.deployment), {}).values()),
                  Decimal(0))
        billed, unit = billed_quantity(mapped), mapped.unit
        bypassed = _percent(billed - use, billed)
    drift = _percent(mapped.cost - listed, listed)
    cost_drifts = mapped.cost != listed if drift is None else abs(drift) > limit
    return ReconciledMeter(target=mapped.target, meter_names=mapped.meter_names, measured=use, billed=billed,
                           unit=unit, bypassed_percent=bypassed, list_cost=listed, actual_cost=mapped.cost,
                           difference=mapped.cost - listed, drift_percent=drift,
                           warn=cost_drifts or (bypassed is not None and abs(bypassed) > limit))


def _list_cost(charges: MonthCharges, deployment: str, meter: str) -> Decimal:
    """The exact list cost of one deployment meter over the month's pay-as-you-go lines."""
    total = Decimal(0)
    for dept in charges.departments:
        for line in dept.lines:
            if isinstance(line, PaygLine) and line.deployment == deployment and meter in line.rates:
                total += meter_rates.meter_cost(meter, line.meters.quantity(meter), line.rates[meter], line.unit)
    return total


def _quantity_drift(mapped: MappedCost, by_dept: dict[str, MeterQuantities], limit: Decimal) -> str:
    measured = sum((Decimal(q.quantity(str(mapped.meter))) for q in by_dept.values()), Decimal(0))
    billed = billed_quantity(mapped)
    gap = _percent(billed - measured, billed)
    if gap is None or abs(gap) <= limit:
        return ""
    said = "bypassed the gateway" if gap > 0 else "measured but not billed"
    return f"; billed {billed:,} vs measured {measured:,}: {abs(gap):.1f}% {said}"


def _percent(difference: Decimal, base: Decimal) -> Decimal | None:
    return difference * _HUNDRED / base if base else None
