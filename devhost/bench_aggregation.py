"""Aggregation benchmarks: reading + aggregating a month's partition vs the bare projected scan;
peak memory of aggregating 100k vs 1M records (it should not grow with the records)."""
from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from chargeback.storage.usage_table import AGGREGATION_COLUMNS
from chargeback.usage.aggregation import MonthUsage, aggregate_month
from chargeback.usage.reading import aggregate_partition
from chargeback.usage.record import UsageRecord

MONTH = "2026-10"
_START = datetime(2026, 10, 1, tzinfo=UTC)


def synthetic_records(count: int, subscriptions: int = 20, deployments: int = 5):
    """Records made on the fly (never held in a list), spread over the month."""
    step = timedelta(seconds=(31 * 86400 - 1) / max(count, 1))
    for i in range(count):
        yield UsageRecord(record_id=f"r{i}", timestamp=_START + step * i, subscription=f"sub-{i % subscriptions}",
                          deployment=f"dep-{i % deployments}", model="m", prompt_tokens=1000 + i % 7,
                          cached_tokens=128 * (i % 3), completion_tokens=200 + i % 11, reasoning_tokens=i % 5)


def peak_memory_kib(count: int) -> float:
    tracemalloc.start()
    try:
        aggregate_month(MONTH, synthetic_records(count))
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def bench_memory() -> dict:
    small, large = peak_memory_kib(100_000), peak_memory_kib(1_000_000)
    return {"aggregate_peak_kib_100k": round(small, 1), "aggregate_peak_kib_1m": round(large, 1),
            "aggregate_memory_1m_vs_100k_ratio": round(large / small, 2)}


def bench_scan_vs_aggregate(usage_store, repeats: int = 3) -> dict:
    """Rows per second over every partition of the month: bare projected scan, and read + aggregate."""
    partitions = usage_store.partitions(MONTH)
    table = usage_store.table

    def scan() -> int:
        rows = 0
        for p in partitions:
            for _ in table.query_entities("PartitionKey eq @p", parameters={"p": p}, select=AGGREGATION_COLUMNS):
                rows += 1
        return rows

    def aggregate() -> int:
        total = MonthUsage(MONTH)
        for p in partitions:
            total.merge(aggregate_partition(usage_store, MONTH, p))
        return sum(t.requests for _, t in total.groups())

    best_scan = best_agg = 0.0
    rows = 0
    for _ in range(repeats):  # interleaved, best of each: the machine is shared
        start = time.perf_counter()
        rows = scan()
        best_scan = max(best_scan, rows / (time.perf_counter() - start))
        start = time.perf_counter()
        aggregated = aggregate()
        best_agg = max(best_agg, aggregated / (time.perf_counter() - start))
    return {"scan_rows_per_s": round(best_scan), "aggregate_rows_per_s": round(best_agg),
            "aggregate_vs_scan_ratio": round(best_agg / best_scan, 3), "aggregated_rows": rows}
