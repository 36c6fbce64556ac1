"""`mtd_refresh_vs_full_ratio`: a month-to-date refresh after 1% new usage over pricing the whole month.

The month (generated, ingested through the real trigger) is refreshed once with its last ``repeats`` x 1%
of events (by time) held back; then each repeat, the next 1% arrives, as the next hour's usage would, and
both are measured on the month as it then stands. Baseline: read every partition, aggregate, price_month.
Measured: the refresh as the orchestrator runs it (its one-step activity, chargeback/workflow/mtd_refresh,
when few partitions changed, as an hour's usage does; else the three steps), without the Durable host's
constant overhead. The ratio is the median of the
pairs' ratios (each pair measured back to back, in turn full first and refresh first, each from a collected heap,
so a load change on the machine moves both and neither pays for collecting the other's garbage); ``copies`` months
alike, in tables of their own, share each wait, so there are ``copies x repeats`` pairs (9 by default: three
repeats gave 0.040-0.057 from run to run on 2026-12-02, around the target).
The month is ingested in seconds, not over weeks: a refresh also re-reads, as key and ETag, the rows
written within the margin (chargeback/storage/usage_delta.MARGIN, 120 s) before the previous refresh began.
For an hourly refresh that is the previous hour's last two minutes; here it would be the whole month's last
partition, so the bench waits ``settle`` seconds (MARGIN and a little) between ingesting usage and
refreshing, as the hour between two refreshes would: after the held month, and after each repeat's 1% (without
that wait a repeat's window holds the previous repeat's whole 1%, written seconds before: twice the rows an
hourly refresh reads; ``settle=0``: no wait anywhere, the first window is every row of the changed partition).
``mtd_rows_read``: usage rows the refresh read (new rows and window keys, median repeat);
``mtd_round_trips``: its HTTP requests to storage (the pipeline's transport sends, pages count).
"""
from __future__ import annotations

import gc
import json
import statistics
import time
from datetime import UTC, datetime

from azure.core.pipeline.transport import RequestsTransport

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.storage.usage_delta import MARGIN
from chargeback.usage.reading import aggregate_stored_month
from chargeback.wiring import configured
from chargeback.workflow.month_to_date import price_to_date_step, refresh_partition_step
from chargeback.workflow.mtd_refresh import refresh_to_date_step
from devhost.eventhub import batches
from devhost.functions import user_function
from devhost.generate.month import generate_month

MONTH = "2026-10"
SETTLE = MARGIN.total_seconds() + 5   # seconds between ingesting usage and refreshing (the module's docstring)


def _ingest(lines: list[str]) -> None:
    trigger = user_function("ingest_usage")
    for batch in batches(lines, batch_size=500):
        trigger(batch.events)


class _Sends:
    """Counts the storage requests sent (every SDK client's pipeline ends in RequestsTransport.send)."""

    def __init__(self) -> None:
        self.count = 0
        self._send = RequestsTransport.send

    def __enter__(self) -> _Sends:
        def counted(transport, request, **kwargs):
            self.count += 1
            return self._send(transport, request, **kwargs)
        RequestsTransport.send = counted
        return self

    def __exit__(self, *exc) -> None:
        RequestsTransport.send = self._send


def _refresh(ctx, as_of: str) -> tuple[int, int]:
    """(partitions read, rows read), as orchestrations/month_to_date runs it: in one step when few changed."""
    done = refresh_to_date_step(ctx, MONTH, as_of)
    if "changed" not in done:
        return len(done["partitions"]), sum(part["records"] for part in done["partitions"])
    rows = sum(refresh_partition_step(ctx, MONTH, **part)["records"] for part in done["changed"])
    price_to_date_step(ctx, MONTH, as_of)
    return len(done["changed"]), rows


def bench_mtd_refresh(connection_string: str, events: int, repeats: int = 3,
                      settle: float = SETTLE, copies: int = 3,
                      prefix: str = "mtdbench") -> dict:
    """``copies`` months alike, each in tables of its own on the one Azurite, share each wait: every repeat's
    1% is ingested into each, then one ``settle``, then each copy's pair is measured in turn (one after
    another, never at once): ``copies x repeats`` pairs for ``repeats + 1`` waits."""
    generated = generate_month(MONTH, departments=8, events=events, bad_events=0)
    lines = sorted(generated.lines, key=lambda line: json.loads(line)["timestamp"])
    new = max(1, len(lines) // 100)
    held = len(lines) - repeats * new
    as_of = datetime(2026, 10, 31, 23, tzinfo=UTC).isoformat()
    config = parse_config(generated.config_yaml)
    prefixes = [f"{prefix}{copy}" if copy else prefix for copy in range(copies)]
    services = {}
    for name in prefixes:
        with configured(storage_connection=connection_string, table_prefix=name) as s:
            s.config.save(config, source="bench")
            _ingest(lines[:held])   # the ingest function reads the services configured here
        services[name] = s
    time.sleep(settle)
    for s in services.values():
        _refresh(s.month_to_date, as_of)   # the rollups as of the previous hour
    fulls, refreshes, read, trips = [], [], [], []
    for run in range(repeats):
        for name in prefixes:
            with configured(storage_connection=connection_string, table_prefix=name):
                _ingest(lines[held + run * new:held + (run + 1) * new])
        time.sleep(settle)
        for copy, s in enumerate(services.values()):
            # Each measured from a collected heap (neither pays for collecting the other's garbage), and
            # in turn first and second (the one after pays for whatever the other left Azurite doing).
            for first in ((True, False) if (run + copy) % 2 == 0 else (False, True)):
                gc.collect()
                if first:
                    start = time.perf_counter()
                    price_month(MONTH, aggregate_stored_month(s.usage, MONTH), config)
                    fulls.append(time.perf_counter() - start)
                    continue
                with _Sends() as sends:
                    start = time.perf_counter()
                    read.append(_refresh(s.month_to_date, as_of))
                    refreshes.append(time.perf_counter() - start)
                trips.append(sends.count)
    partitions = len(services[prefixes[0]].usage.partitions(MONTH))
    ratios = sorted(r / f for r, f in zip(refreshes, fulls, strict=True))
    return {"mtd_new_events": new, "mtd_partitions_read": max(p for p, _rows in read),
            "mtd_rows_read": statistics.median(rows for _p, rows in read),
            "mtd_round_trips": statistics.median(trips),
            "mtd_partitions_total": partitions, "mtd_pairs": len(ratios),
            "mtd_full_price_s": round(statistics.median(fulls), 3),
            "mtd_refresh_s": round(statistics.median(refreshes), 3),
            "mtd_refresh_vs_full_ratio": round(statistics.median(ratios), 3),
            "mtd_refresh_vs_full_ratio_min": round(ratios[0], 3), "mtd_refresh_vs_full_ratio_max": round(ratios[-1], 3)}


if __name__ == "__main__":   # python -m devhost.bench_mtd [events [settle seconds [copies]]]: alone, own Azurite
    import sys

    from devhost.azurite import Azurite
    from devhost.functions import ROOT
    args = sys.argv[1:]
    with Azurite(ROOT) as emulator:
        print(json.dumps(bench_mtd_refresh(
            emulator.connection_string, int(args[0]) if args else 20_000,
            settle=float(args[1]) if args[1:] else SETTLE,
            copies=int(args[2]) if args[2:] else 3)))
