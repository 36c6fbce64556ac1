"""`chargeback bench`: each figure is a ratio against a baseline measured in the same run, on one Azurite.

This machine is shared and noisy, so absolute rates are reported only beside their baselines.
Each path writes to fresh tables; the best of ``repeats`` interleaved runs is kept for the older figures.
The issue-17 ratios are measured ``runs`` times (default 3), each from two paths in the same run: the top
level holds each ratio's median, ``min_median_max`` every figure's [min, median, max] over the runs.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from statistics import median
from typing import IO

from azure.data.tables import TableClient

from chargeback.storage.usage_table import SLICES_PER_MONTH, USAGE_TABLE, record_to_entity
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.wiring import configured
from devhost.azurite import Azurite
from devhost.bench_aggregation import bench_memory, bench_scan_vs_aggregate
from devhost.bench_month_end import bench_month_end
from devhost.bench_mtd import bench_mtd_refresh
from devhost.bench_scale import bench_departments, bench_transactions
from devhost.bench_workbooks import bench_workbooks
from devhost.eventhub import batches
from devhost.functions import ROOT, user_function
from devhost.generate.month import generate_month

MONTH = "2026-10"


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


@contextmanager
def _services_on(connection_string: str, prefix: str):
    """Point the process's services at fresh tables (what the trigger will use)."""
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        _ = s.usage.table, s.usage.index  # create the tables outside the timed part
        yield s


def bench_parse(bodies: list[bytes], repeats: int = 3) -> float:
    raws = [RawEvent(b, "0", i) for i, b in enumerate(bodies)]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        parse_batch(raws)
        best = min(best, time.perf_counter() - start)
    return _rate(len(raws), best)


def bench_raw(connection_string: str, prefix: str, entity_batches: list[list[dict]]) -> float:
    """The ceiling: the same batches the trigger gets, as prebuilt entities, in parallel transactions."""
    with _services_on(connection_string, prefix) as s:
        start = time.perf_counter()
        written = sum(s.usage.write_entities(batch) for batch in entity_batches)
        return _rate(written, time.perf_counter() - start)


def bench_ingest(connection_string: str, prefix: str, lines: list[str]) -> float:
    prepared = list(batches(lines, batch_size=500))
    trigger = user_function("ingest_usage")
    with _services_on(connection_string, prefix):
        start = time.perf_counter()
        for batch in prepared:
            trigger(batch.events)
        return _rate(len(lines), time.perf_counter() - start)


def bench_naive(connection_string: str, prefix: str, lines: list[str], client_per_event: bool) -> float:
    """What a direct port of the seed does: event by event, one upsert each. The seed also builds its
    client inside the loop (a TelemetryClient per message); ``client_per_event`` ports that too."""
    with _services_on(connection_string, prefix) as s:
        shared = s.account.table(USAGE_TABLE)
        table_name = shared.table_name
        start = time.perf_counter()
        for line in lines:
            table = (TableClient.from_connection_string(connection_string, table_name) if client_per_event
                     else shared)
            doc = json.loads(line)
            table.upsert_entity({"PartitionKey": doc["subscriptionId"], "RowKey": doc["requestId"],
                                 **{k: json.dumps(v) for k, v in doc.items() if k != "requestId"}})
        return _rate(len(lines), time.perf_counter() - start)


def spread(values: list[float], digits: int = 3) -> list[float]:
    """[min, median, max] of one figure over the runs."""
    ordered = sorted(values)
    return [round(ordered[0], digits), round(median(ordered), digits), round(ordered[-1], digits)]


# Figures measured in every run; each ratio comes from two paths measured in that same run.
RATIOS = ("ingest_vs_full_tx_ratio", "ingest_vs_naive_5ms_ratio", "run_month_200_vs_20_departments_ratio",
          "month_end_vs_full_ratio", "run_month_refreshed_vs_full_ratio", "ingest_vs_sdk_ingest_ratio",
          "sdk_vs_lean_client_cpu_ratio")


def summarize_runs(runs: list[dict[str, float]]) -> dict:
    """Each figure's median at the top level; ``runs``: [min, median, max] of every figure over the runs."""
    spreads = {key: spread([r[key] for r in runs]) for key in runs[0]}
    return {**{key: spreads[key][1] for key in RATIOS if key in spreads}, "runs": len(runs),
            "min_median_max": spreads}


def one_run(emulator: Azurite, lines: list[str], run: int, department_events: int, say) -> dict[str, float]:
    cs = emulator.connection_string
    say(f"run {run + 1}: ingest vs full transactions (lean body and SDK); ingest vs naive behind a 5 ms proxy")
    figures = bench_transactions(cs, emulator.ports.table, lines, run)
    say(f"run {run + 1}: run-month on {department_events:,} rows from 20 and from 200 departments")
    figures.update(bench_departments(cs, department_events, run))
    say(f"run {run + 1}: month-end from the rollups vs a full aggregation")
    [month_end] = bench_month_end(cs, len(lines), repeats=1, prefix=f"mebench{run}")
    return {**figures, **month_end}


def run_benchmarks(events: int = 20_000, repeats: int = 2, progress: IO | None = None, runs: int = 3,
                   department_events: int | None = None, million: bool = False) -> dict:
    def say(text: str) -> None:
        if progress:
            print(text, file=progress, flush=True)

    lines = generate_month(MONTH, departments=8, events=events, bad_events=0).lines
    bodies = [line.encode() for line in lines]
    say(f"parsing {len(lines):,} events on one core")
    parse_rate = bench_parse(bodies)
    # The host hands the trigger one partition's batch at a time; no code can group across batches,
    # so the ceiling writes exactly those batches.
    shards = SLICES_PER_MONTH
    entity_batches = [[record_to_entity(r, shards) for r in parse_batch(
        [RawEvent(e.get_body(), b.partition, e.sequence_number) for e in b.events])[0]]
        for b in batches(lines, batch_size=500)]
    naive_lines = lines[: max(500, events // 10)]
    raw_rates, ingest_rates, naive_rates, upsert_rates = [], [], [], []
    with Azurite(ROOT) as emulator:
        cs = emulator.connection_string
        for run in range(repeats):
            say(f"run {run + 1}/{repeats}: raw ceiling, ingest path, naive per-event upserts")
            raw_rates.append(bench_raw(cs, f"raw{run}", entity_batches))
            ingest_rates.append(bench_ingest(cs, f"ing{run}", lines))
            naive_rates.append(bench_naive(cs, f"naive{run}", naive_lines, client_per_event=True))
            upsert_rates.append(bench_naive(cs, f"upsert{run}", naive_lines, client_per_event=False))
        scale = [one_run(emulator, lines, run, department_events or events, say) for run in range(runs)]
        say("aggregating the ingested month: read + aggregate vs the bare projected scan")
        with _services_on(cs, "ing0") as s:
            aggregation = bench_scan_vs_aggregate(s.usage)
        say("month to date: a refresh after 1% new usage vs pricing the whole month")
        month_to_date = bench_mtd_refresh(cs, events)
    say("peak memory of aggregating 100k and 1M in-memory records")
    memory = bench_memory()
    say("rendering department workbooks")
    workbooks = bench_workbooks()
    raw, ingest, naive, upsert = max(raw_rates), max(ingest_rates), max(naive_rates), max(upsert_rates)
    return {
        "events": len(lines),
        "parse_events_per_s": round(parse_rate),
        "raw_rows_per_s": round(raw),
        "ingest_events_per_s": round(ingest),
        "naive_events_per_s": round(naive),
        "ingest_vs_raw_ratio": round(ingest / raw, 3),
        "per_event_upsert_events_per_s": round(upsert),
        **summarize_runs(scale),
        "ingest_peak_rss_1m_vs_100k_ratio": million_ratio(say) if million else None,
        "ingest_vs_per_event_upsert_ratio": round(ingest / upsert, 2),
        **aggregation, **month_to_date, **memory, **{f"workbooks_{k}" if k in ("events", "departments") else k: v
                                    for k, v in workbooks.items()},
    }


def million_ratio(say) -> float:
    """`python -m devhost.bench_million 100000 1000000` (tens of minutes): ingest peak RSS, 1M over 100k."""
    from devhost.bench_million import main
    say("ingesting and invoicing 100,000 and 1,000,000 generated events, each step in its own process")
    result = main([100_000, 1_000_000])
    say(json.dumps(result))
    return float(result["ingest_peak_rss_1m_vs_100k_ratio"])   # type: ignore[arg-type]
