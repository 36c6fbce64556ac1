"""A department's tokens per day per deployment: what its workbook charts."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from chargeback.config.model import ChargebackConfig
from chargeback.usage.aggregation import MonthUsage, UsageKey, UsageTotals
from chargeback.usage.meters import NO_USAGE, MeterQuantities


@dataclass(frozen=True, slots=True)
class DailyUsageRow:
    """One day's usage of one deployment by one department, all its subscriptions and models together."""

    day: date
    deployment: str
    requests: int
    unmetered: int              # streams whose usage never arrived
    prompt_tokens: int          # input, cached included
    cached_tokens: int
    completion_tokens: int      # output, reasoning included
    reasoning_tokens: int
    meters: MeterQuantities = NO_USAGE   # every meter's quantity (what the usage detail sheet lists)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out["meters"] = self.meters.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DailyUsageRow:
        return cls(day=date.fromisoformat(data["day"]), deployment=data["deployment"],
                   **{k: int(data[k]) for k in _COUNTS}, meters=MeterQuantities.from_dict(data.get("meters", {})))


_COUNTS = ("requests", "unmetered", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")


def daily_usage(usage: MonthUsage, config: ChargebackConfig, department_id: str) -> list[DailyUsageRow]:
    """The department's usage per (day, deployment), ordered by day then deployment; one pass over ``usage``."""
    department_for = config.department_for
    return _rows(group for group in usage.groups() if department_for(group[0].subscription) == department_id)


def daily_usage_by_department(usage: MonthUsage, config: ChargebackConfig) -> dict[str, list[DailyUsageRow]]:
    """Every department's (``unallocated`` included) daily rows in one pass: for rendering all invoices."""
    by_department: dict[str, list[tuple[UsageKey, UsageTotals]]] = {}
    for key, totals in usage.groups():
        by_department.setdefault(config.department_for(key.subscription), []).append((key, totals))
    return {department: _rows(groups) for department, groups in sorted(by_department.items())}


def _rows(groups: Iterable[tuple[UsageKey, UsageTotals]]) -> list[DailyUsageRow]:
    sums: dict[tuple[date, str], UsageTotals] = {}
    for key, totals in groups:
        mine = sums.get((key.day, key.deployment))
        if mine is None:
            sums[(key.day, key.deployment)] = mine = UsageTotals()
        mine.add(totals)
    return [DailyUsageRow(day, deployment, t.requests, t.unmetered, t.prompt_tokens, t.cached_tokens,
                          t.completion_tokens, t.reasoning_tokens, t.meters)
            for (day, deployment), t in sorted(sums.items())]
