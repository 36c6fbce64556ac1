"""Provisioned (PTU) pools: a period's cost, shared by weighted tokens to the minor unit (largest remainder)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from chargeback.config.model import UNALLOCATED, Pool
from chargeback.money import quantum, zero
from chargeback.usage.aggregation import LineUsage


def largest_remainder(total: Decimal, weights: Mapping[str, Decimal | int], step: Decimal) -> dict[str, Decimal]:
    """Split ``total`` (a whole number of ``step``, e.g. 0.01) by ``weights``; the parts sum to it exactly.

    Each key gets the whole steps of its exact share; the steps left over go one each to the largest
    remainders, ties to the smallest key, so the result does not depend on the mapping's order.
    """
    units = total / step
    if units != units.to_integral_value() or units < 0:
        raise ValueError(f"{total} is not a non-negative whole number of {step}")
    if any(w < 0 for w in weights.values()) or not any(weights.values()):
        raise ValueError("weights must be non-negative and not all zero")
    whole = sum(Fraction(w) for w in weights.values())
    exact = {k: int(units) * Fraction(w) / whole for k, w in weights.items()}   # rational: no rounding yet
    parts = {k: math.floor(share) for k, share in exact.items()}
    left_over = int(units) - sum(parts.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:left_over]:
        parts[key] += 1
    return {k: n * step for k, n in parts.items()}


@dataclass
class PoolPeriod:
    """A pool entry over the days of the month it was in effect, and who used it then."""

    pool: Pool
    start: date                 # inclusive, 00:00 UTC
    stop: date                  # exclusive
    use: dict[str, LineUsage] = field(default_factory=dict)   # department id -> what it used

    def weighted_tokens(self, usage: LineUsage) -> Decimal:
        """The sum over the meters the weights name of weight x quantity (a meter not named weighs 0)."""
        meters = usage.totals.meters
        return sum((weight * meters.quantity(meter) for meter, weight in self.pool.weights.values), Decimal(0))

    @property
    def hours(self) -> int:
        return (self.stop - self.start).days * 24

    @property
    def last_day(self) -> date:
        return self.stop - timedelta(days=1)

    def exact_cost(self, days_in_month: int) -> Decimal:
        """``monthly_cost`` prorated by the days in effect, or ``ptus x hourly_rate x hours``."""
        if self.pool.monthly_cost is not None:
            return self.pool.monthly_cost * (self.stop - self.start).days / days_in_month
        if self.pool.ptus is None or self.pool.hourly_rate is None:   # the validator refuses such a pool
            raise ValueError(f"pool {self.pool.deployment} has neither monthly_cost nor ptus and hourly_rate")
        return self.pool.ptus * self.pool.hourly_rate * self.hours

    def basis(self, days_in_month: int) -> str:
        if self.pool.monthly_cost is not None:
            days = (self.stop - self.start).days
            return f"monthly_cost {self.pool.monthly_cost} x {days}/{days_in_month} days in effect"
        return f"{self.pool.ptus} PTU x {self.pool.hourly_rate}/PTU-hour x {self.hours} hours in effect"

    def shares(self, cost: Decimal, currency: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """(weighted tokens per department, amount per department); unused: all of it to unallocated."""
        weighted = {dept: self.weighted_tokens(use) for dept, use in self.use.items()}
        if not any(weighted.values()):
            # Nobody used it (or only with zero-weight tokens): the platform's idle capacity.
            amounts = {dept: zero(currency) for dept in weighted}
            amounts[UNALLOCATED] = cost
            return weighted, amounts
        return weighted, largest_remainder(cost, weighted, quantum(currency))
