"""Why a department's cost changed: against last month, or against the invoice version a revision replaces.

Derived from the stored priced months (``MonthCharges``, the month's JSON in the documents store), never
guessed from totals alone. The reasons, each named only when the figures show it:
- "a price change": a deployment billed in both has other rates in effect, or a pool another cost;
- "a config change": the configuration differs in what is not a rate (markup, which subscriptions the
  department's lines came from, a pool's weights);
- "more usage" / "less usage" (against another month): the metered quantities, all meters summed, went up
  or down;
- "late usage" (a revision of the same month): usage that arrived after the earlier version was priced;
- "the actual bill": a true-up or actual-bill amount changed (actuals imported or revised).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine
from chargeback.usage.meters import METERS

MORE_USAGE, LESS_USAGE, LATE_USAGE = "more usage", "less usage", "late usage"
PRICE_CHANGE, CONFIG_CHANGE, ACTUAL_BILL = "a price change", "a config change", "the actual bill"


@dataclass(frozen=True)
class Change:
    """The earlier total, the difference and why; ``earlier`` is None when there is nothing to compare."""

    earlier: Decimal | None
    total: Decimal
    reasons: tuple[str, ...]

    @property
    def difference(self) -> Decimal | None:
        return None if self.earlier is None else self.total - self.earlier


def _quantities(dept: DepartmentCharges) -> dict[str, Decimal]:
    """Metered quantity per deployment x meter (pools by their deployment)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in dept.lines:
        deployment = line.deployment if isinstance(line, PaygLine) else line.pool
        for meter in METERS:
            out[f"{deployment}/{meter}"] += Decimal(line.meters.quantity(meter))
    return {k: v for k, v in out.items() if v}


def _rates(dept: DepartmentCharges) -> dict[str, set[tuple[object, ...]]]:
    out: dict[str, set[tuple[object, ...]]] = defaultdict(set)
    for line in dept.lines:
        if isinstance(line, PaygLine):
            out[line.deployment].add((*sorted(line.rates.items()), line.unit))
        else:
            out[f"pool:{line.pool}"].add((line.pool_cost,))
    return out


def _shape(month: MonthCharges, dept: DepartmentCharges) -> tuple[object, ...]:
    subscriptions = sorted({s for line in dept.lines for s in
                            ((line.subscription,) if isinstance(line, PaygLine) else line.subscriptions)})
    weights = sorted((line.pool, tuple(sorted(line.weights.items())))
                     for line in dept.lines if isinstance(line, PoolLine))
    return month.markup_percent, tuple(subscriptions), tuple(weights)


def _price_changed(before: DepartmentCharges, after: DepartmentCharges) -> bool:
    old, new = _rates(before), _rates(after)
    return any(old[key] != new[key] for key in old.keys() & new.keys())


def _actual(dept: DepartmentCharges) -> tuple[Decimal, ...]:
    return (dept.true_up.amount if dept.true_up else Decimal(0),
            *sorted(line.amount for line in dept.actual_lines))


def explain(earlier: tuple[MonthCharges, DepartmentCharges] | None,
            current: tuple[MonthCharges, DepartmentCharges], *, revision: bool) -> Change:
    """How ``current`` differs from ``earlier``: last month's charges, or (``revision``) the same month's
    charges as the replaced invoice version priced them."""
    month, dept = current
    if earlier is None:
        return Change(None, dept.total, ())
    before_month, before = earlier
    reasons = []
    if _price_changed(before, dept):
        reasons.append(PRICE_CHANGE)
    if before_month.config_fingerprint != month.config_fingerprint and \
            _shape(before_month, before) != _shape(month, dept):
        reasons.append(CONFIG_CHANGE)
    old, new = _quantities(before), _quantities(dept)
    if revision and any(new.get(k, 0) > old.get(k, 0) for k in new):
        reasons.append(LATE_USAGE)
    elif not revision and sum(new.values()) != sum(old.values()):
        reasons.append(MORE_USAGE if sum(new.values()) > sum(old.values()) else LESS_USAGE)
    if _actual(before) != _actual(dept):
        reasons.append(ACTUAL_BILL)
    return Change(before.total, dept.total, tuple(reasons))


def sentence(change: Change, currency: str) -> str:
    """``"+12.50 USD: more usage, a price change"``; "" without an earlier total."""
    if change.difference is None:
        return ""
    sign = "+" if change.difference > 0 else ""
    why = ", ".join(change.reasons) or ("no change" if not change.difference else "rounding")
    return f"{sign}{change.difference:,} {currency}: {why}"
