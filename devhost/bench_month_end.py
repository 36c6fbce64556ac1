"""`month_end_vs_full_ratio`: run-month's usage steps on a refreshed month over a full aggregation.

The month (generated, ingested through the real trigger) has been refreshed by the month-to-date refresh and
nothing arrived since, as at month-end after the last hourly refresh. Measured: what run-month's activities do
for the usage (orchestrations/monthly.py: changed partitions -> refresh those (none) -> price the rollups).
Baseline: the full aggregation run-month did before the rollups (every partition read and aggregated into a
blob, the parts merged and priced: invoicing.aggregate_partition_step + price_step). Both without the Durable
host's constant overhead; rendering, recording and notices are the same work in both and left out (the whole
run-month, with them, is `run_month_refreshed_vs_full_ratio` in bench_scale). ``repeats`` interleaved
pairs, one ratio each; both paths must price the same grand total.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

from chargeback.config.loading import parse_config
from chargeback.wiring import configured
from chargeback.workflow import invoicing
from chargeback.workflow.month_to_date import changed_partitions, price_to_date_step, refresh_partition_step
from devhost.bench_mtd import _ingest
from devhost.generate.month import generate_month

MONTH = "2026-10"


def full_aggregation(inv: invoicing.InvoicingContext, run_id: str) -> dict:
    parts = [invoicing.aggregate_partition_step(inv, MONTH, run_id, p) for p in invoicing.list_partitions(inv, MONTH)]
    return invoicing.price_step(inv, MONTH, run_id, [p["blob"] for p in parts])


def month_end(services, run_id: str) -> dict:
    ctx = services.month_to_date
    for part in changed_partitions(ctx, MONTH):   # none on a refreshed month
        refresh_partition_step(ctx, MONTH, **part)   # as the orchestrator passes it
    usage = ctx.rollups.month_usage(MONTH)
    return invoicing.price_usage_step(services.invoicing, MONTH, run_id, usage)


def bench_month_end(connection_string: str, events: int, repeats: int = 3,
                    prefix: str = "mebench") -> list[dict[str, float]]:
    generated = generate_month(MONTH, departments=8, events=events, bad_events=0)
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        s.config.save(parse_config(generated.config_yaml), source="bench")
        _ingest(generated.lines)
        ctx = s.month_to_date
        for part in changed_partitions(ctx, MONTH):   # the last month-to-date refresh
            refresh_partition_step(ctx, MONTH, **part)   # as the orchestrator passes it
        price_to_date_step(ctx, MONTH, datetime(2026, 11, 1, tzinfo=UTC).isoformat())
        runs, totals = [], set()
        for run in range(repeats):
            start = time.perf_counter()
            totals.add(full_aggregation(s.invoicing, f"full{run}")["grand_total"])
            full = time.perf_counter() - start
            start = time.perf_counter()
            totals.add(month_end(s, f"end{run}")["grand_total"])
            rollups = time.perf_counter() - start
            runs.append({"month_end_full_aggregation_s": full, "month_end_from_rollups_s": rollups,
                         "month_end_vs_full_ratio": rollups / full})
    if len(totals) != 1:
        raise RuntimeError(f"month-end from the rollups and the full aggregation disagree: {sorted(totals)}")
    return runs


if __name__ == "__main__":   # python -m devhost.bench_month_end [events]: this figure alone, on its own Azurite
    import json
    import sys

    from devhost.azurite import Azurite
    from devhost.functions import ROOT
    with Azurite(ROOT) as emulator:
        print(json.dumps(bench_month_end(emulator.connection_string, int(sys.argv[1]) if sys.argv[1:] else 20_000)))
