"""Attributed usage per invoice line: the meter quantities of each end user and tag set (and of the calls
metered from API Management's gateway logs) per subscription, priced deployment and day.

The invoice lines stay one per department x subscription x deployment x price period (their keys must not
multiply by users); this is what lets the FOCUS export split a line's rows by who used it
(documents/focus_attribution.py). Only attributed calls and gateway-log calls are kept here: a line's
unattributed usage is the line minus these. Bounded: each subscription keeps at most ``MAX_LABELS``
(user, tags) labels; calls of further labels are kept under the ``FOLDED`` label, never dropped.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any, NamedTuple

from chargeback.usage.meters import FIELDS, MeterQuantities
from chargeback.usage.record import UsageRecord

MAX_LABELS = 200
_AUDIO_SECONDS = 1 + FIELDS.index("audio_seconds")


class Label(NamedTuple):
    """Who made a group of calls, as far as the calls said (a tuple: cheap to build once per call)."""

    end_user: str = ""               # the end user id (or its hmac: hash), "" when not sent
    tags: tuple[str, ...] = ()       # valid "key=value" tags, sorted
    gateway_logs: bool = False       # metered from GatewayLlmLogs (no cached tokens reported)
    folded: bool = False             # users and tags beyond the bound, together

    @property
    def attributed(self) -> bool:
        return bool(self.end_user or self.tags or self.folded)


FOLDED = Label(folded=True)
# (subscription, priced deployment, spilled from, day of month, label)
_Key = tuple[str, str, str, int, Label]


def _zeros() -> list[int | Decimal]:
    counts: list[int | Decimal] = [0] * (1 + len(FIELDS))
    counts[_AUDIO_SECONDS] = Decimal(0)
    return counts


@dataclass(frozen=True, slots=True)
class LabelUsage:
    """One label's calls on one invoice line."""

    label: Label
    requests: int
    meters: MeterQuantities


class LineAttribution:
    """(subscription, deployment, spilled from, day, label) -> [requests, *meter quantities in FIELDS order]."""

    __hash__ = None   # type: ignore[assignment]  # mutable

    def __init__(self) -> None:
        self._cells: dict[_Key, list[int | Decimal]] = {}
        self._labels: dict[str, set[Label]] = defaultdict(set)   # subscription -> attributed labels kept
        self._by_deployment: dict[str, list[_Key]] | None = None   # for_line's index, built on first use

    def add(self, record: UsageRecord) -> None:
        """Count an attributed or gateway-log call (others are not kept here)."""
        gateway_logs = record.schema_version == 3   # record.source == "gateway-logs", without the call
        if not (record.end_user or record.tags or gateway_logs):
            return
        ts = record.timestamp
        day = ts.astimezone(UTC).day if ts.utcoffset() else ts.day
        served = record.served_deployment   # priced as the deployment that served it (record.priced_deployment)
        key = (record.subscription, served or record.deployment, record.deployment if served else "", day,
               Label(record.end_user, record.tags, gateway_logs))
        self._count(key, (1, *record.meters.values()))

    def _count(self, key: _Key, counts: tuple[int | Decimal, ...] | list[int | Decimal]) -> None:
        cell = self._cells.get(key)   # found: its label was admitted when the cell was made
        if cell is None:
            key = self._admitted(key)
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = _zeros()
                self._by_deployment = None
        for index, count in enumerate(counts):
            if count:
                cell[index] += count

    def _admitted(self, key: _Key) -> _Key:
        """``key``, or its folded label's once the subscription already has ``MAX_LABELS`` labels."""
        subscription, label = key[0], key[4]
        labels = self._labels[subscription]
        if label.attributed and not label.folded and label not in labels:
            if len(labels) >= MAX_LABELS:
                return (*key[:4], Label(gateway_logs=label.gateway_logs, folded=True))
            labels.add(label)
        return key

    def merge(self, other: LineAttribution) -> None:
        for key, counts in sorted(other._cells.items()):
            self._count(key, counts)

    def __bool__(self) -> bool:
        return bool(self._cells)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LineAttribution) and self._cells == other._cells

    def for_line(self, subscriptions: tuple[str, ...] | set[str], deployment: str, first_day: date, last_day: date,
                 spilled_from: str | None = None) -> list[LabelUsage]:
        """Each label's usage on the days ``first_day`` .. ``last_day`` (inclusive, one month) of ``deployment``
        from ``subscriptions``; ``spilled_from`` None: any (a pool line), else exactly it. Sorted by label."""
        if self._by_deployment is None:
            self._by_deployment = defaultdict(list)
            for key in self._cells:
                self._by_deployment[key[1]].append(key)
        summed: dict[Label, list[int | Decimal]] = {}
        for key in self._by_deployment.get(deployment, ()):
            subscription, _dep, spilled, day, label = key
            if subscription not in subscriptions or not first_day.day <= day <= last_day.day:
                continue
            if spilled_from is not None and spilled != spilled_from:
                continue
            cell = summed.setdefault(label, _zeros())
            for index, count in enumerate(self._cells[key]):
                cell[index] += count
        return [LabelUsage(label, int(c[0]), MeterQuantities.from_values(c[1:])) for label, c in sorted(summed.items())]

    def gateway_calls(self, department_for: Callable[[str], str]) -> dict[str, dict[str, int]]:
        """Department -> deployment -> calls metered from the gateway logs (what its invoice must say)."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (subscription, deployment, _spilled, _day, label), counts in sorted(self._cells.items()):
            if label.gateway_logs:
                out[department_for(subscription)][deployment] += int(counts[0])
        return {dept: dict(calls) for dept, calls in out.items()}

    def to_rows(self) -> list[list[Any]]:
        """JSON rows: subscription, deployment, spilled from, day, end user, tags, gateway logs, folded,
        requests, meters (``MeterQuantities.to_dict``)."""
        return [[s, d, f, day, label.end_user, list(label.tags), label.gateway_logs, label.folded, int(c[0]),
                 MeterQuantities.from_values(c[1:]).to_dict()]
                for (s, d, f, day, label), c in sorted(self._cells.items())]

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> LineAttribution:
        lines = cls()
        for s, d, f, day, user, tags, gateway, folded, requests, meters in rows:
            label = Label(str(user), tuple(str(t) for t in tags), bool(gateway), bool(folded))
            lines._count((str(s), str(d), str(f), int(day), label),
                         (int(requests), *MeterQuantities.from_dict(meters).values()))
        return lines
