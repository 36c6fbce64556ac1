"""Scale figures for `chargeback bench`, each a ratio of two paths measured in the same run.

- full transactions: the ingest path over the same rows regrouped into full entity-group transactions,
  written by the same client (UsageStore.write_entities);
- 5 ms each way: the ingest path and a naive one-upsert-per-event loop, both behind a loopback proxy that
  holds every chunk 5 ms in each direction (devhost.loopback_proxy);
- the SDK's per-transaction cost: the same two paths with the library's own ``submit_transaction``
  (multipart built and parsed with the ``email`` package, thread pools per request) instead of the lean body
  of chargeback/storage/batch_wire, wall time and this process's CPU;
- departments: run-month through the local Durable host on the same number of rows from 20 and from 200
  departments (no notice channels); the 20-department month is run twice, the second time refreshed with
  nothing new (``run_month_refreshed_vs_full_ratio``).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from chargeback.config.loading import parse_config
from chargeback.storage.batch_wire import sdk_submit
from chargeback.storage.usage_table import Submit, record_to_entity
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.wiring import configured
from devhost.eventhub import batches
from devhost.functions import user_function
from devhost.generate.month import generate_month
from devhost.local_host import LocalHost
from devhost.loopback_proxy import LoopbackProxy
from devhost.partition_pump import deliver

MONTH = "2026-10"


@dataclass
class Took:
    """Wall seconds and this process's CPU seconds (every thread; Azurite is another process)."""
    wall: float
    cpu: float


def _timed(work: Callable[[], object]) -> Took:
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return Took(time.perf_counter() - start, time.process_time() - cpu)


def ingest_seconds(connection_string: str, prefix: str, lines: list[str], submit: Submit | None = None) -> Took:
    """The product's path: the Event Hub trigger over the host's batches of 500, delivered as the Functions
    host does (devhost/partition_pump: per partition in order, the 4 partitions at once; the host's own
    checkpoints are not part of it) (``submit``: how the usage store sends a transaction; default the
    product's, batch_wire.submit_upserts)."""
    prepared = list(batches(lines, batch_size=500))
    trigger = user_function("ingest_usage")
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        _ = s.usage.table, s.usage.index, s.dead_letters, s.telemetry, s.gateway_halves
        if submit is not None:
            s.usage.submit = submit
        return _timed(lambda: deliver(prepared, lambda batch: trigger(batch.events)))


def full_tx_seconds(connection_string: str, prefix: str, lines: list[str], submit: Submit | None = None) -> Took:
    """The same rows, regrouped by partition into full transactions (100 rows), same client and pool."""
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        records = [r for b in batches(lines, batch_size=500) for r in parse_batch(
            [RawEvent(e.get_body(), b.partition, e.sequence_number) for e in b.events])[0]]
        entities = sorted((record_to_entity(r, s.usage.shards) for r in records),
                          key=lambda e: (e["PartitionKey"], e["RowKey"]))
        if submit is not None:
            s.usage.submit = submit
        s.usage._index_partitions({e["PartitionKey"] for e in entities})
        _ = s.usage.table
        return _timed(lambda: s.usage.write_entities(entities))


def naive_seconds(connection_string: str, prefix: str, lines: list[str]) -> Took:
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
    """One run of the transaction figures; the library's own submit_transaction (``sdk``) beside the
    product's lean body (batch_wire) on the same rows, as the before/after of the SDK's per-transaction cost."""
    events = len(lines)
    ingest = ingest_seconds(connection_string, f"sing{run}", lines)
    full = full_tx_seconds(connection_string, f"sfull{run}", lines)
    ingest_sdk = ingest_seconds(connection_string, f"singsdk{run}", lines, submit=sdk_submit)
    full_sdk = full_tx_seconds(connection_string, f"sfullsdk{run}", lines, submit=sdk_submit)
    naive_lines = lines[:500]
    proxy, slow = behind_proxy(connection_string, table_port, delay=0.005)
    with proxy:
        ingest_slow = ingest_seconds(slow, f"sprox{run}", lines)
        naive_slow = naive_seconds(slow, f"snaive{run}", naive_lines)
    return {"ingest_events_per_s": events / ingest.wall, "full_tx_rows_per_s": events / full.wall,
            "ingest_sdk_events_per_s": events / ingest_sdk.wall, "full_tx_sdk_rows_per_s": events / full_sdk.wall,
            "ingest_client_cpu_ms_per_event": ingest.cpu * 1000 / events,
            "ingest_sdk_client_cpu_ms_per_event": ingest_sdk.cpu * 1000 / events,
            "full_tx_client_cpu_ms_per_row": full.cpu * 1000 / events,
            "full_tx_sdk_client_cpu_ms_per_row": full_sdk.cpu * 1000 / events,
            "ingest_5ms_events_per_s": events / ingest_slow.wall,
            "naive_5ms_events_per_s": len(naive_lines) / naive_slow.wall,
            "ingest_vs_full_tx_ratio": full.wall / ingest.wall,
            "ingest_vs_naive_5ms_ratio": (events / ingest_slow.wall) / (len(naive_lines) / naive_slow.wall),
            "ingest_vs_sdk_ingest_ratio": ingest_sdk.wall / ingest.wall,
            "sdk_vs_lean_client_cpu_ratio": ingest_sdk.cpu / ingest.cpu}


def without_notices(config_yaml: str) -> str:
    """The generated config with no notice channel: the bench measures invoicing, not mail delivery (with no
    SMTP server a notice fails at once, but each is still an attempt logged and recorded per department)."""
    return _NOTIFY.sub("notify: {email: [], webhook: null}", config_yaml)


_NOTIFY = re.compile(r"notify: \{email: \[[^\]]*\], webhook: null\}")


def run_month_seconds(connection_string: str, prefix: str, departments: int, events: int,
                      again: bool = False) -> list[float]:
    """run-month's wall time on a generated month of ``departments``; with ``again``, also a second
    run-month right after (a refreshed month with nothing new: only the rollups are read)."""
    generated = generate_month(MONTH, departments=departments, events=events, bad_events=0)
    with configured(storage_connection=connection_string, table_prefix=prefix) as s:
        s.config.save(parse_config(without_notices(generated.config_yaml)), source="bench")
        trigger = user_function("ingest_usage")
        for batch in batches(generated.lines, batch_size=500):
            trigger(batch.events)
        with LocalHost() as host:
            return [_run_month(host, departments) for _ in range(2 if again else 1)]


def _run_month(host: LocalHost, departments: int) -> float:
    start = time.perf_counter()
    status = host.run_month(MONTH, timeout=1800)
    seconds = time.perf_counter() - start
    if status["runtimeStatus"] != "Completed":
        raise RuntimeError(f"bench run-month {departments} departments: {status.get('output')}")
    return seconds


def bench_departments(connection_string: str, events: int, run: int = 0) -> dict[str, float]:
    """The ratio, and what it is made of: with run-month ~ F + d x departments, the seconds each extra
    department adds (d, from the two runs) and the fixed part (F); the ratio is (F + 200 d) / (F + 20 d)."""
    few, again = run_month_seconds(connection_string, f"dep20r{run}", 20, events, again=True)
    [many] = run_month_seconds(connection_string, f"dep200r{run}", 200, events)
    per_department = (many - few) / 180
    return {"run_month_20_departments_s": few, "run_month_200_departments_s": many,
            "run_month_20_departments_rerun_s": again,
            "run_month_s_per_extra_department": per_department,
            "run_month_fixed_s": few - 20 * per_department,
            "run_month_200_vs_20_departments_ratio": many / few, "run_month_refreshed_vs_full_ratio": again / few}
