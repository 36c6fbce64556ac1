"""chargeback/usage/aggregation.py's LineUsage and chargeback/billing/meter_rates.py's line functions as they
were at def4b52, verbatim but for this docstring, the imports and ``price.rate`` / ``price.named`` written out
as config/model.Price had them (kept for tests/unit/billing/test_mtd_identical.py, with pricing_def4b52).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, localcontext

from chargeback.billing.meter_rates import SECONDS_PER_HOUR
from chargeback.config.model import CACHED_DEFAULTS, LEGACY_WEIGHTED, Price
from chargeback.usage.aggregation import UsageKey, UsageTotals
from chargeback.usage.meters import METERS, MeterQuantities


def _named(price: Price, meter: str) -> Decimal | None:
    return dict(price.rates).get(meter)


def _rate(price: Price, meter: str) -> Decimal | None:
    named = _named(price, meter)
    if named is None and meter in CACHED_DEFAULTS:
        return _named(price, CACHED_DEFAULTS[meter])
    return named


class LineUsage:
    """Totals gathered into one invoice line, with the subscriptions, models and days they came from.

    The groups' counts are kept as added and summed column by column when ``totals`` is first read: one
    ``MeterQuantities`` per line, not one per group added.
    """

    __slots__ = ("_parts", "_totals", "first_day", "last_day", "models", "subscriptions")

    def __init__(self) -> None:
        self._parts: list[Sequence[int | Decimal]] = []   # each: requests, unmetered, FIELDS quantities
        self._totals: UsageTotals | None = None
        self.subscriptions: set[str] = set()
        self.models: set[str] = set()
        self.first_day: date | None = None
        self.last_day: date | None = None

    @property
    def totals(self) -> UsageTotals:
        if self._totals is None:
            self._totals = _summed(self._parts)
        return self._totals

    def add_counts(self, subscription: str, model: str, day: date, counts: Sequence[int | Decimal]) -> None:
        """Add one group given as ``MonthUsage.group_rows`` gives it (the counts are kept, never changed)."""
        self._parts.append(counts)
        self._totals = None
        self.subscriptions.add(subscription)
        if model:
            self.models.add(model)
        self._span(day, day)

    def add(self, key: UsageKey, totals: UsageTotals) -> None:
        self.add_counts(key.subscription, key.model, key.day, (totals.requests, totals.unmetered,
                                                               *totals.meters.values()))

    def merge(self, other: LineUsage) -> None:
        self._parts.extend(other._parts)
        self._totals = None
        self.subscriptions |= other.subscriptions
        self.models |= other.models
        if other.first_day is not None and other.last_day is not None:
            self._span(other.first_day, other.last_day)

    def _span(self, first: date, last: date) -> None:
        if self.first_day is None or first < self.first_day:
            self.first_day = first
        if self.last_day is None or last > self.last_day:
            self.last_day = last


def _summed(parts: list[Sequence[int | Decimal]]) -> UsageTotals:
    """Column sums (exact: integers, and ``audio_seconds`` in a 60-digit context) as one group's totals."""
    if not parts:
        return UsageTotals()
    with localcontext() as ctx:
        ctx.prec = 60
        columns = [sum(column) for column in zip(*parts, strict=True)]
    return UsageTotals(int(columns[0]), int(columns[1]), MeterQuantities.from_values(columns[2:]))


def rates_in_effect(price: Price, meters: MeterQuantities) -> dict[str, Decimal]:
    """The rate of every meter the line used (and of the first release's three, when priced), by meter."""
    out: dict[str, Decimal] = {}
    for meter in METERS:
        if getattr(meters, meter) or meter in LEGACY_WEIGHTED:
            rate = price.audio_hour if meter == "audio_seconds" else _rate(price, meter)
            if rate is not None:
                out[meter] = rate
    return out


def unpriced_meters(price: Price, meters: MeterQuantities,
                    rates: dict[str, Decimal] | None = None) -> MeterQuantities:
    """The line's usage on meters the price entry has no rate for (not charged, listed instead); ``rates``:
    ``rates_in_effect(price, meters)`` if the caller has it already."""
    rates = rates_in_effect(price, meters) if rates is None else rates
    missing = {m: q for m, q in meters.used().items() if m not in rates}
    return MeterQuantities(**missing)   # type: ignore[arg-type]


def exact_amount(price: Price, meters: MeterQuantities, rates: dict[str, Decimal] | None = None) -> Decimal:
    """The line's exact amount at the rates in effect, before its one rounding (``rates`` as unpriced_meters)."""
    rates = rates_in_effect(price, meters) if rates is None else rates
    per_unit = [meters.quantity(m) * rate for m, rate in rates.items() if m != "audio_seconds"]
    amount = sum(per_unit, Decimal(0)) / price.tokens_per_unit if per_unit else Decimal(0)
    if "audio_seconds" in rates and meters.audio_seconds:
        amount += meters.audio_seconds * rates["audio_seconds"] / SECONDS_PER_HOUR
    return amount
