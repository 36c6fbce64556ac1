"""Against Azurite: the partition index's ETag watermark and the rollup store."""
from __future__ import annotations

from datetime import UTC, datetime

from chargeback.storage.rollup_store import RollupStore
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from chargeback.workflow.month_to_date import MonthToDateContext, changed_partitions, refresh_partition_step


def rec(n: int, day: int, tokens: int = 1_000) -> UsageRecord:
    return UsageRecord(record_id=f"r{n}", timestamp=datetime(2026, 11, day, 12, tzinfo=UTC), subscription="sub-a",
                       deployment="gpt-4o", meters=MeterQuantities(input=tokens))


def test_a_write_changes_only_its_partitions_watermark(app_services):
    usage = app_services.usage
    usage.write([rec(1, 1), rec(2, 28)])
    before = usage.watermarks("2026-11")
    assert len(before) == 2 and set(before) == set(usage.partitions("2026-11"))
    usage.write([rec(3, 28)])
    after = usage.watermarks("2026-11")
    early, late = sorted(before)
    assert after[early] == before[early] and after[late] != before[late]
    usage.write([rec(3, 28)])   # a redelivery rewrites its row: its partition is read again, not added twice
    assert usage.watermarks("2026-11")[late] != after[late]


def test_refresh_reads_changed_partitions_and_stores_them_under_the_listed_watermark(app_services):
    ctx = MonthToDateContext(usage=app_services.usage, rollups=RollupStore(app_services.account),
                             config=app_services.config)
    ctx.usage.write([rec(1, 1), rec(2, 28)])
    changed = changed_partitions(ctx, "2026-11")
    assert len(changed) == 2
    for part in changed:
        refresh_partition_step(ctx, "2026-11", part["partition"], part["watermark"])
    assert changed_partitions(ctx, "2026-11") == []
    assert ctx.rollups.month_usage("2026-11") == aggregate_month("2026-11", [rec(1, 1), rec(2, 28)])

    ctx.usage.write([rec(3, 28, 5), rec(2, 28)])   # one new record and one redelivered
    (late,) = changed_partitions(ctx, "2026-11")
    # The rows since the last read (storage/usage_delta) hold a counted row written again: the read stops
    # there (1 row) and reads the partition whole (2 rows).
    assert refresh_partition_step(ctx, "2026-11", late["partition"], late["watermark"]) == {
        "partition": late["partition"], "records": 1 + 2, "read": "whole"}
    assert ctx.rollups.month_usage("2026-11") == aggregate_month("2026-11", [rec(1, 1), rec(2, 28), rec(3, 28, 5)])
    assert ctx.rollups.month_to_date("2026-11") is None
    ctx.rollups.put_month_to_date("2026-11", {"month": "2026-11"})
    assert ctx.rollups.month_to_date("2026-11") == {"month": "2026-11"}
