"""Month to date over the local host, counted in rows: usage ingested through the real trigger
(devhost.functions.user_function("ingest_usage")) into Azurite, then refreshed by the month-to-date
orchestration; a refresh reads the rows written since the last one and nothing else, plus the rows written
within the margin before that one began, which it skips (chargeback/storage/usage_delta)."""
from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.storage import usage_delta
from chargeback.usage.reading import aggregate_stored_month
from devhost.ingest_runner import ingest_lines
from devhost.mtd_commands import refresh_once

from .conftest import CONFIG, event
from .partition_reads import count_partition_reads

MONTH = "2026-10"
DEPLOYMENTS = ("gpt-4o", "gpt-4o-ptu")


def month_of_events(prefix: str, days: range) -> list[str]:
    """Two events a day, both departments, both deployments (tokens vary so no two rows are alike)."""
    return [event(f"{prefix}-{day}-{n}", ("sub-mkt", "sub-sales")[n], DEPLOYMENTS[(day + n) % 2],
                  10_000 * day + 7 * n, 1_000 + day, cached=day * 10, day=day)
            for day in days for n in range(2)]


@pytest.fixture
def counted(app_services, monkeypatch):
    app_services.config.save(parse_config(CONFIG))
    reads: list[str] = []
    count_partition_reads(monkeypatch, reads)
    return app_services, reads


def refresh(reads: list[str]) -> tuple[dict, Counter]:
    reads.clear()
    status = refresh_once(MONTH, timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    return status["output"], Counter(reads)


def stored_rows(services) -> Counter:
    """Rows per usage partition, as stored."""
    return Counter(r["PartitionKey"] for r in services.usage.table.list_entities(select=["PartitionKey"]))


def assert_exact(services) -> None:
    """The rollups equal a full read of the stored month, and so do their prices."""
    full = aggregate_stored_month(services.usage, MONTH)
    config = services.config.get(services.config.current_fingerprint())
    assert services.month_to_date.rollups.month_usage(MONTH) == full
    document = services.month_to_date.rollups.month_to_date(MONTH)
    charges = price_month(MONTH, full, config)
    assert {d["department"]: d["total"] for d in document["departments"]} == {
        d.department: str(d.total) for d in charges.departments}


def test_a_refresh_reads_the_new_rows_and_the_margin_window(counted):
    services, reads = counted
    first = month_of_events("a", range(1, 29))   # 56 rows over the month's first slices
    assert ingest_lines(first).stored == len(first)
    out, read = refresh(reads)
    assert sum(read.values()) == out["records_read"] == len(first)   # never read: each partition whole
    assert_exact(services)

    late = month_of_events("b", range(29, 32))   # 6 new rows, days 29-31: the month's last slice(s)
    rows_before = stored_rows(services)
    assert ingest_lines(late).stored == len(late)
    out, read = refresh(reads)
    new = stored_rows(services) - rows_before
    assert sum(new.values()) == len(late) and set(read) == set(new)   # no other partition is read
    # Everything was written seconds ago, inside the 120 s margin: the touched partitions' earlier rows
    # are read again (and skipped), besides the new ones.
    assert read == Counter({p: new[p] + rows_before[p] for p in new})
    assert out["partitions_read"] == len(new) and out["records_read"] == sum(read.values())
    assert_exact(services)

    out, read = refresh(reads)   # nothing new: nothing read
    assert (out["partitions_read"], read) == (0, Counter())


def test_past_the_margin_a_refresh_reads_exactly_the_new_rows(counted, monkeypatch):
    """The margin made 0 s (the read's own duration and the Date header's second remain): rows written
    more than ~2 s before the previous refresh began are outside the window; a refresh reads the new rows."""
    services, reads = counted
    monkeypatch.setattr(usage_delta, "MARGIN", timedelta(0))
    first = month_of_events("a", range(1, 32))
    assert ingest_lines(first).stored == len(first)
    time.sleep(3.5)
    refresh(reads)
    late = [event("late-1", "sub-sales", "gpt-4o", 5_000, 50, day=31),
            event("late-2", "sub-mkt", "gpt-4o-ptu", 6_000, 60, day=3)]   # two partitions, one each
    assert ingest_lines(late).stored == len(late)
    out, read = refresh(reads)
    assert sum(read.values()) == len(read) == len(late) == out["records_read"]
    assert_exact(services)
