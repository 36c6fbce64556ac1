"""Scale figures for `chargeback bench`, each a ratio of two paths measured in the same run.

- full transactions: the ingest path over the same rows regrouped into full entity-group transactions,
  written by the same client (UsageStore.write_entities);
- 5 ms each way: the ingest path and a naive one-upsert-per-event loop, both behind a loopback proxy that
  holds every chunk 5 ms in each direction (devhost.loopback_proxy);
- departments: run-month through the local Durable host on the same number of rows from 20 and from 200
  departments.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from chargeback.config.loading import parse_config
from chargeback.storage.usage_table import record_to_entity
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.wiring import configured
from devhost.eventhub import batches
from devhost.functions import user_function
from devhost.generate.month import generate_month
from devhost.loopback_proxy import LoopbackProxy

MONTH = "2026-10"


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def ingest_seconds(connection_string: str, prefix: str, lines: list[str]) -> float:
    """The product's path: the Event Hub trigger over the host's batches of 500."""
    prepared = list(batches(lines, batch_size=500))
    trigger = user_function("ingest_usage")
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        _ = s.usage.table, s.usage.index
        return _timed(lambda: [trigger(batch.events) for batch in prepared])


def full_tx_seconds(connection_string: str, prefix: str, lines: list[str]) -> float:
    """The same rows, regrouped by partition into full transactions (100 rows), same client and pool."""
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        records = [r for b in batches(lines, batch_size=500) for r in parse_batch(
            [RawEvent(e.get_body(), b.partition, e.sequence_number) for e in b.events])[0]]
        entities = sorted((record_to_entity(r, s.usage.shards) for r in records),
                          key=lambda e: (e["PartitionKey"], e["RowKey"]))
        s.usage._index_partitions({e["PartitionKey"] for e in entities})
        _ = s.usage.table
        return _timed(lambda: s.usage.write_entities(entities))


def naive_seconds(connection_string: str, prefix: str, lines: list[str]) -> float:
    """One upsert per event, one shared client (what a direct port of the seed does, minus its client
    per message)."""
    import json
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        table = s.usage.table

        def loop() -> None:
            for line in lines:
                doc = json.loads(line)
                table.upsert_entity({"PartitionKey": doc["subscriptionId"], "RowKey": doc["requestId"],
                                     **{k: json.dumps(v) for k, v in doc.items() if k != "requestId"}})
        return _timed(loop)


def behind_proxy(connection_string: str, table_port: int, delay: float) -> tuple[LoopbackProxy, str]:
    proxy = LoopbackProxy(table_port, delay=delay)
    return proxy, connection_string.replace(f":{table_port}/", f":{proxy.port}/")


def bench_transactions(connection_string: str, table_port: int, lines: list[str], run: int) -> dict[str, float]:
    ingest = ingest_seconds(connection_string, f"sing{run}", lines)
    full = full_tx_seconds(connection_string, f"sfull{run}", lines)
    naive_lines = lines[:500]
    proxy, slow = behind_proxy(connection_string, table_port, delay=0.005)
    with proxy:
        ingest_slow = ingest_seconds(slow, f"sprox{run}", lines)
        naive_slow = naive_seconds(slow, f"snaive{run}", naive_lines)
    return {"ingest_events_per_s": len(lines) / ingest, "full_tx_rows_per_s": len(lines) / full,
            "ingest_5ms_events_per_s": len(lines) / ingest_slow,
            "naive_5ms_events_per_s": len(naive_lines) / naive_slow}


def run_month_seconds(connection_string: str, prefix: str, departments: int, events: int) -> float:
    from devhost.local_host import LocalHost
    generated = generate_month(MONTH, departments=departments, events=events, bad_events=0)
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        s.config.save(parse_config(generated.config_yaml), source="bench")
        trigger = user_function("ingest_usage")
        for batch in batches(generated.lines, batch_size=500):
            trigger(batch.events)
        with LocalHost() as host:
            start = time.perf_counter()
            status = host.run_month(MONTH, timeout=1800)
            seconds = time.perf_counter() - start
        if status["runtimeStatus"] != "Completed":
            raise RuntimeError(f"bench run-month {departments} departments: {status.get('output')}")
        return seconds


def bench_departments(connection_string: str, events: int) -> dict[str, float]:
    few = run_month_seconds(connection_string, "dep20", 20, events)
    many = run_month_seconds(connection_string, "dep200", 200, events)
    return {"run_month_20_departments_s": round(few, 2), "run_month_200_departments_s": round(many, 2),
            "run_month_200_vs_20_departments_ratio": round(many / few, 3)}
