"""Month to date over the local host, counted in activity calls: the month's first refresh (many
partitions changed) fans out one ``mtd_refresh_partition`` per partition then ``mtd_price_to_date``; an
hourly refresh after a little new usage is the one activity ``mtd_refresh`` (chargeback/workflow/
mtd_refresh), and prices exactly what a full read of the stored month prices. The activities are counted
as the local host invokes them (devhost/durable/registry.FunctionRegistry.run_activity, wrapped: each one
still runs and returns its own result)."""
from __future__ import annotations

from collections import Counter

import pytest

from activities.names import MTD_ALERTS, MTD_PRICE, MTD_REFRESH, MTD_REFRESH_PARTITION
from chargeback.config.loading import parse_config
from chargeback.workflow.mtd_refresh import FEW
from devhost.durable.registry import FunctionRegistry
from devhost.ingest_runner import ingest_lines
from devhost.mtd_commands import refresh_once

from .conftest import CONFIG, event
from .test_mtd_reads_new_rows import MONTH, assert_exact, month_of_events, stored_rows


@pytest.fixture
def activities(app_services, monkeypatch) -> tuple:
    app_services.config.save(parse_config(CONFIG))
    calls: Counter = Counter()
    run_activity = FunctionRegistry.run_activity

    def counted(self, name, input_json):
        calls[name] += 1
        return run_activity(self, name, input_json)

    monkeypatch.setattr(FunctionRegistry, "run_activity", counted)
    return app_services, calls


def refresh(calls: Counter) -> tuple[dict, Counter]:
    calls.clear()
    status = refresh_once(MONTH, timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    return status["output"], Counter(calls)


def test_the_first_refresh_fans_out_and_an_hourly_one_is_one_activity(activities):
    services, calls = activities
    first = month_of_events("a", range(1, 29))   # 56 rows over the month's first 14 slices or so
    assert ingest_lines(first).stored == len(first)
    partitions = len(stored_rows(services))
    assert partitions > FEW
    out, called = refresh(calls)
    assert called == Counter({MTD_REFRESH: 1, MTD_REFRESH_PARTITION: partitions, MTD_PRICE: 1, MTD_ALERTS: 1})
    assert (out["partitions_read"], out["records_read"]) == (partitions, len(first))
    assert_exact(services)

    late = month_of_events("b", range(30, 32))   # 4 rows on days 30-31: the month's last slice(s)
    before = stored_rows(services)
    assert ingest_lines(late).stored == len(late)
    touched = stored_rows(services) - before
    assert 1 <= len(touched) <= FEW
    out, called = refresh(calls)
    assert called == Counter({MTD_REFRESH: 1, MTD_ALERTS: 1})   # no partition step, no separate pricing
    assert out["partitions_read"] == len(touched) and out["records_read"] >= len(late)
    assert_exact(services)
    assert out["total"] == services.month_to_date.rollups.month_to_date(MONTH)["total"]

    # A late event in an old partition, and one redelivered (read whole): still the one activity.
    ingest_lines([event("c-1", "sub-sales", "gpt-4o", 500_000, 40, day=3), first[0]])
    out, called = refresh(calls)
    assert called == Counter({MTD_REFRESH: 1, MTD_ALERTS: 1})
    assert out["partitions_read"] in (1, 2)
    assert_exact(services)

    out, called = refresh(calls)   # nothing new: the one activity, nothing read
    assert called == Counter({MTD_REFRESH: 1, MTD_ALERTS: 1}) and out["partitions_read"] == 0
    assert_exact(services)
