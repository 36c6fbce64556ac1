"""Streaming aggregation of a month's usage records into daily totals per subscription, deployment and model."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal, localcontext
from typing import Any

from chargeback.months import month_bounds
from chargeback.usage.attribution_rollup import AttributionRollup
from chargeback.usage.meters import FIELDS, NO_USAGE, MeterQuantities, TokenViews
from chargeback.usage.record import UsageRecord

COLUMNS = ("subscription", "deployment", "model", "day", "requests", "unmetered", "meters")
# Spilled calls (served by another deployment than the one called): the served deployment in "deployment".
SPILLED_COLUMNS = ("subscription", "deployment", "model", "day", "spilled_from", "requests", "unmetered", "meters")
# What the first release wrote (text tokens only): still read, as text meters.
TOKEN_COLUMNS = ("subscription", "deployment", "model", "day", "requests", "unmetered",
                 "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")
# A group as ``MonthUsage.group_rows`` gives it: subscription, deployment, model, day of the month, spilled
# from ("" if not), counts (requests, unmetered, then every MeterQuantities field in FIELDS order).
GroupRow = tuple[str, str, str, int, str, list[int | Decimal]]
_WIDTH = 2 + len(FIELDS)   # requests, unmetered, then every MeterQuantities field in FIELDS order
_AUDIO_SECONDS = 2 + FIELDS.index("audio_seconds")


def _zeros() -> list[int | Decimal]:
    counts: list[int | Decimal] = [0] * _WIDTH
    counts[_AUDIO_SECONDS] = Decimal(0)
    return counts


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


class MonthUsage:
    """A month's usage totals, built record by record: memory grows with the groups, not the records.

    Records stamped outside the month are not added, only counted in ``outside_month``.
    """

    __hash__ = None   # type: ignore[assignment]  # mutable: equal by value, never a set member or dict key

    def __init__(self, month: str):
        self.first_day, self.next_first_day = month_bounds(month)
        self.month = month
        self.outside_month = 0
        # (subscription, deployment, model, day of month) -> [requests, unmetered, *meter quantities in
        # FIELDS order]: plain tuples and lists keep the per-record cost low.
        self._groups: dict[tuple[str, str, str, int], list[int | Decimal]] = {}
        # Spilled calls apart, keyed (subscription, served deployment, model, day, called deployment), so a
        # month without spill-over keeps its first-release shape.
        self._spilled: dict[tuple[str, str, str, int, str], list[int | Decimal]] = {}
        self.attribution = AttributionRollup()   # by end user and tag, bounded; apart from the line groups

    def add(self, record: UsageRecord) -> bool:
        """Count one record; False (and counted in ``outside_month``) when it belongs to another month."""
        ts = record.timestamp
        if ts.utcoffset():   # naive (None) and UTC (zero) stamps are already UTC
            ts = ts.astimezone(UTC)
        if ts.month != self.first_day.month or ts.year != self.first_day.year:
            self.outside_month += 1
            return False
        if record.end_user or record.tags or record.schema_version == 3:   # 3: gateway logs (record.source)
            self.attribution.add(record)
        if record.served_deployment:
            spilled = (record.subscription, record.served_deployment, record.model, ts.day, record.deployment)
            totals = self._spilled.setdefault(spilled, _zeros())
        else:
            key = (record.subscription, record.deployment, record.model, ts.day)
            found = self._groups.get(key)
            if found is None:
                found = self._groups[key] = _zeros()
            totals = found
        totals[0] += 1
        if not record.metered:
            totals[1] += 1
        if record.meters is not NO_USAGE:
            for index, quantity in enumerate(record.meters.values(), 2):
                if quantity:
                    totals[index] += quantity
        return True

    def add_all(self, records: Iterable[UsageRecord]) -> MonthUsage:
        """Consume an iterator of records (never held in memory); returns self."""
        add = self.add
        for record in records:
            add(record)
        return self

    def merge(self, other: MonthUsage) -> MonthUsage:
        """Add another aggregate of the same month (e.g. another storage partition's); returns self."""
        if other.month != self.month:
            raise ValueError(f"cannot merge usage of {other.month} into {self.month}")
        for key, counts in other._groups.items():
            mine = self._groups.setdefault(key, _zeros())
            for index, count in enumerate(counts):
                mine[index] += count
        for spilled, counts in other._spilled.items():
            mine = self._spilled.setdefault(spilled, _zeros())
            for index, count in enumerate(counts):
                mine[index] += count
        self.attribution.merge(other.attribution)
        self.outside_month += other.outside_month
        return self

    def groups(self) -> Iterator[tuple[UsageKey, UsageTotals]]:
        """Every group in a stable order (subscription, deployment, model, day), then the spilled groups."""
        days: dict[int, date] = {}
        for subscription, deployment, model, day, spilled_from, counts in self.group_rows():
            when = days.get(day) or days.setdefault(day, self.first_day.replace(day=day))
            key = UsageKey(subscription, deployment, model, when, spilled_from)
            yield key, UsageTotals(int(counts[0]), int(counts[1]), MeterQuantities.from_values(counts[2:]))

    def group_rows(self, ordered: bool = True) -> Iterator[GroupRow]:
        """The groups without a key or totals object each: (subscription, deployment, model, day of the month,
        spilled from or "", counts), in ``groups()``'s order (or, ``ordered=False``, as stored: for sums that
        are exact in any order). The counts are the aggregate's own list (requests, unmetered, then the
        ``FIELDS`` quantities): read them, never change them."""
        groups, spilled = self._groups, self._spilled
        rows: list[GroupRow] = [(key[0], key[1], key[2], key[3], "", groups[key])   # made at once: faster
                                for key in (sorted(groups) if ordered else groups)]   # keys sort faster than items
        if spilled:
            rows += [(spill[0], spill[1], spill[2], spill[3], spill[4], spilled[spill])
                     for spill in (sorted(spilled) if ordered else spilled)]
        return iter(rows)

    def __len__(self) -> int:
        return len(self._groups) + len(self._spilled)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MonthUsage):
            return NotImplemented
        return ((self.month, self.outside_month, self._groups, self._spilled, self.attribution)
                == (other.month, other.outside_month, other._groups, other._spilled, other.attribution))

    def to_dict(self) -> dict[str, Any]:
        """Compact JSON shape: one row per group, in ``columns`` order, ``day`` as the day of the month,
        ``meters`` as ``MeterQuantities.to_dict`` (non-zero meters only)."""
        rows = [[*key, counts[0], counts[1], MeterQuantities.from_values(counts[2:]).to_dict()]
                for key, counts in sorted(self._groups.items())]
        out: dict[str, Any] = {"month": self.month, "outside_month": self.outside_month, "columns": list(COLUMNS),
                               "groups": rows}
        if self._spilled:   # absent without spill-over: the first release's shape, byte for byte
            out["spilled_columns"] = list(SPILLED_COLUMNS)
            out["spilled"] = [[*key, counts[0], counts[1], MeterQuantities.from_values(counts[2:]).to_dict()]
                              for key, counts in sorted(self._spilled.items())]
        if self.attribution:
            out["attribution"] = self.attribution.to_rows()
        if self.attribution.lines:   # per invoice line, for the FOCUS export (usage/attribution_lines.py)
            out["attribution_lines"] = self.attribution.lines.to_rows()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonthUsage:
        """Inverse of ``to_dict``; also reads the first release's token columns (as text meters)."""
        columns = data.get("columns")
        if columns not in (list(COLUMNS), list(TOKEN_COLUMNS)):
            raise ValueError(f"usage columns must be {list(COLUMNS)}, got {columns!r}")
        usage = cls(data["month"])
        usage.outside_month = int(data.get("outside_month", 0))
        for row in data["groups"]:
            subscription, deployment, model, day, requests, unmetered, *rest = row
            usage.first_day.replace(day=day)   # refuses a day the month does not have
            if columns == list(COLUMNS):
                (meter_dict,) = rest
                meters = MeterQuantities.from_dict(meter_dict)
            else:
                meters = MeterQuantities.from_text_tokens(*(int(count) for count in rest))
            mine = usage._groups.setdefault((subscription, deployment, model, day), _zeros())
            for index, count in enumerate((int(requests), int(unmetered), *meters.values())):
                mine[index] += count
        for row in data.get("spilled", ()):
            subscription, deployment, model, day, spilled_from, requests, unmetered, meter_dict = row
            usage.first_day.replace(day=day)
            spilled = usage._spilled.setdefault((subscription, deployment, model, day, spilled_from), _zeros())
            for index, count in enumerate((int(requests), int(unmetered),
                                           *MeterQuantities.from_dict(meter_dict).values())):
                spilled[index] += count
        usage.attribution = AttributionRollup.from_rows(data.get("attribution", []), data.get("attribution_lines"))
        return usage

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MonthUsage:
        return cls.from_dict(json.loads(text))


def aggregate_month(month: str, records: Iterable[UsageRecord]) -> MonthUsage:
    """Aggregate an iterable of records (consumed once, never held) into ``month``'s totals."""
    return MonthUsage(month).add_all(records)
