"""The values a month's usage is read as: a group's key and totals, and the totals gathered into one invoice
line (chargeback/usage/aggregation keeps the groups; chargeback/billing/pricing gathers them into lines)."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from chargeback.usage.meters import FIELDS, NO_USAGE, MeterQuantities, TokenViews

_AUDIO_SECONDS = 2 + FIELDS.index("audio_seconds")   # in a group's counts: requests, unmetered, then FIELDS


@dataclass(frozen=True, slots=True, order=True, init=False)
class UsageKey:
    """What usage is grouped by; the department is decided later, at pricing, from the config."""

    subscription: str
    deployment: str
    model: str
    day: date
    spilled_from: str = ""      # the deployment called when ``deployment`` served it as spill-over; "" if not

    def __init__(self, subscription: str, deployment: str, model: str, day: date, spilled_from: str = "") -> None:
        # What dataclass would generate, through the slots' own setters (one key per group ``groups()`` yields).
        _set_subscription(self, subscription)
        _set_deployment(self, deployment)
        _set_model(self, model)
        _set_day(self, day)
        _set_spilled_from(self, spilled_from)


_set_subscription, _set_deployment, _set_model, _set_day, _set_spilled_from = (
    getattr(UsageKey, name).__set__ for name in ("subscription", "deployment", "model", "day", "spilled_from"))


@dataclass(slots=True)
class UsageTotals(TokenViews):
    """Request counts and meter quantities of one group.

    The first release's token counts are read-only views of ``meters`` (``TokenViews``).
    """

    requests: int = 0
    unmetered: int = 0          # calls whose usage never arrived: counted, never priced
    meters: MeterQuantities = NO_USAGE

    def add(self, other: UsageTotals) -> None:
        self.requests += other.requests
        self.unmetered += other.unmetered
        self.meters = self.meters + other.meters


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
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        if self.last_day is None or day > self.last_day:
            self.last_day = day

    def add_run(self, subscription: str, model: str, first: date, last: date,
                parts: Sequence[Sequence[int | Decimal]]) -> None:
        """``add_counts`` for each of ``parts``: groups of one subscription and model, on days ``first`` to
        ``last`` (the earliest and the latest of them)."""
        self._parts += parts
        self._totals = None
        self.subscriptions.add(subscription)
        if model:
            self.models.add(model)
        self._span(first, last)

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


def _summed(parts: Sequence[Sequence[int | Decimal]]) -> UsageTotals:
    """Column sums (exact: integers, and ``audio_seconds`` in a 60-digit context) as one group's totals."""
    if not parts:
        return UsageTotals()
    columns = list(zip(*parts, strict=True))
    seconds, columns[_AUDIO_SECONDS] = columns[_AUDIO_SECONDS], ()
    sums = [sum(column) for column in columns]   # integers: exact
    with localcontext(prec=60) if any(seconds) else nullcontext():   # zeros are exact in any context
        sums[_AUDIO_SECONDS] = sum(seconds)
    return UsageTotals(int(sums[0]), int(sums[1]), MeterQuantities.from_values(sums[2:]))
