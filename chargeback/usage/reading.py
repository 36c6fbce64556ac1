"""A month's stored usage, read partition by partition and aggregated (memory: groups, not records)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from chargeback.usage.aggregation import MonthUsage, UsageTotals, aggregate_month
from chargeback.usage.record import UsageRecord


class PartitionedUsage(Protocol):
    """What reading needs of a usage store (storage.usage_table.UsageStore is one)."""

    def partitions(self, month: str) -> list[str]: ...

    def read_partition(self, partition: str) -> Iterable[UsageRecord]: ...


def aggregate_partition(usage_store: PartitionedUsage, month: str, partition: str) -> MonthUsage:
    """One storage partition's records aggregated (what one invoicing activity does)."""
    return aggregate_month(month, usage_store.read_partition(partition))


def aggregate_stored_month(usage_store: PartitionedUsage, month: str, workers: int = 4) -> MonthUsage:
    """Every partition of the month, read in parallel and merged."""
    total = MonthUsage(month)
    partitions = usage_store.partitions(month)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(lambda p: aggregate_partition(usage_store, month, p), partitions):
            total.merge(part)
    return total


def totals_by(usage: MonthUsage, *fields: str) -> dict[tuple[object, ...], UsageTotals]:
    """Roll the daily groups up to the given key fields (e.g. "subscription", "deployment")."""
    rolled: dict[tuple[object, ...], UsageTotals] = defaultdict(UsageTotals)
    for key, totals in usage.groups():
        rolled[tuple(getattr(key, f) for f in fields)].add(totals)
    return dict(sorted(rolled.items()))
