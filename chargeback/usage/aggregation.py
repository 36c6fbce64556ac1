"""Streaming aggregation of a month's usage records into daily totals per subscription, deployment and model."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from chargeback.months import month_bounds
from chargeback.usage.attribution_rollup import AttributionRollup
from chargeback.usage.line_totals import LineUsage, UsageKey, UsageTotals
from chargeback.usage.meters import FIELDS, NO_USAGE, MeterQuantities
from chargeback.usage.record import UsageRecord

__all__ = ["COLUMNS", "SPILLED_COLUMNS", "TOKEN_COLUMNS", "GroupRow", "LineUsage", "MonthUsage", "UsageKey",
           "UsageTotals", "aggregate_month"]

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

    def stored_groups(self) -> tuple[dict[tuple[str, str, str, int], list[int | Decimal]],
                                     dict[tuple[str, str, str, int, str], list[int | Decimal]]]:
        """The groups as stored, in the order added: (subscription, deployment, model, day of the month) and,
        spilled, (subscription, served deployment, model, day, called deployment) -> counts (as ``group_rows``).
        The aggregate's own dicts and lists: read them, never change them."""
        return self._groups, self._spilled

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
