"""`mtd_refresh_vs_full_ratio`: a month-to-date refresh after 1% new usage over pricing the whole month.

The month (generated, ingested through the real trigger) is refreshed once; then the last 1% of its events
by time arrive, as the next hour's usage would. Baseline: read every partition, aggregate, price_month.
Measured: the refresh's steps as its activities run them (changed partitions, re-read those, price from the
rollups), without the Durable host's constant overhead. Best of ``repeats`` each (the refresh is repeated by
marking the same partitions stale again).
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.usage.reading import aggregate_stored_month
from chargeback.wiring import configured
from chargeback.workflow.month_to_date import changed_partitions, price_to_date_step, refresh_partition_step
from devhost.eventhub import batches
from devhost.functions import user_function
from devhost.generate.month import generate_month

MONTH = "2026-10"


def _ingest(lines: list[str]) -> None:
    trigger = user_function("ingest_usage")
    for batch in batches(lines, batch_size=500):
        trigger(batch.events)


def _refresh(ctx, as_of: str) -> int:
    changed = changed_partitions(ctx, MONTH)
    for part in changed:
        refresh_partition_step(ctx, MONTH, part["partition"], part["watermark"])
    price_to_date_step(ctx, MONTH, as_of)
    return len(changed)


def bench_mtd_refresh(connection_string: str, events: int, repeats: int = 3) -> dict:
    generated = generate_month(MONTH, departments=8, events=events, bad_events=0)
    lines = sorted(generated.lines, key=lambda line: json.loads(line)["timestamp"])
    new = max(1, len(lines) // 100)
    as_of = datetime(2026, 10, 31, 23, tzinfo=UTC).isoformat()
    with configured(storage_connection=connection_string, table_prefix="mtdbench") as s:
        config = parse_config(generated.config_yaml)
        s.config.save(config, source="bench")
        ctx = s.month_to_date
        _ingest(lines[:-new])
        _refresh(ctx, as_of)   # the rollups as of the previous hour
        _ingest(lines[-new:])
        stale = [p["partition"] for p in changed_partitions(ctx, MONTH)]
        full = refresh = float("inf")
        read = 0
        for run in range(repeats):
            start = time.perf_counter()
            price_month(MONTH, aggregate_stored_month(s.usage, MONTH), config)
            full = min(full, time.perf_counter() - start)
            if run:   # the same partitions written since the last refresh again
                for partition in stale:
                    ctx.rollups.put_part(MONTH, partition, "stale", ctx.rollups.part(MONTH, partition))
            start = time.perf_counter()
            read = _refresh(ctx, as_of)
            refresh = min(refresh, time.perf_counter() - start)
        partitions = len(s.usage.partitions(MONTH))
    return {"mtd_new_events": new, "mtd_partitions_read": read, "mtd_partitions_total": partitions,
            "mtd_full_price_s": round(full, 3), "mtd_refresh_s": round(refresh, 3),
            "mtd_refresh_vs_full_ratio": round(refresh / full, 3)}


if __name__ == "__main__":   # python -m devhost.bench_mtd [events]: this figure alone, on its own Azurite
    import sys

    from devhost.azurite import Azurite
    from devhost.functions import ROOT
    with Azurite(ROOT) as emulator:
        print(json.dumps(bench_mtd_refresh(emulator.connection_string, int(sys.argv[1]) if sys.argv[1:] else 20_000)))
