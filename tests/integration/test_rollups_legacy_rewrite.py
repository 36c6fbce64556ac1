"""Against Azurite: a month straddling the key-scheme change. A record stored under the first scheme and
redelivered after the upgrade has a row under each; reads count it once (usage_legacy). Its legacy
partition's rollup, taken before the redelivery, must not keep counting it: the legacy partition's own
ETag never moves, so the refresh re-reads legacy partitions whenever a current-scheme partition changed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chargeback.storage.rollup_store import RollupStore
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.reading import aggregate_stored_month
from chargeback.usage.record import UsageRecord
from chargeback.workflow.month_to_date import MonthToDateContext, changed_partitions, refresh_partition_step
from tests.fixtures.legacy_usage import store_as_first_release

AT = datetime(2026, 10, 5, 9, 0, 0, tzinfo=UTC)


def records(n: int, first: int = 0) -> list[UsageRecord]:
    return [UsageRecord(f"req-{i:05d}", AT + timedelta(seconds=i), f"sub-{i % 2}", "gpt-4o",
                        meters=MeterQuantities(input=1000 + i, output=7)) for i in range(first, first + n)]


def refresh(ctx: MonthToDateContext, month: str) -> int:
    return sum(refresh_partition_step(ctx, month, c["partition"], c["watermark"])["records"]
               for c in changed_partitions(ctx, month))


def requests_and_input(usage) -> tuple[int, int]:
    totals = [t for _, t in usage.groups()]
    return sum(t.requests for t in totals), sum(t.meters.input for t in totals)


def test_a_legacy_row_redelivered_after_the_upgrade_leaves_the_rollups_counting_it_once(app_services):
    usage = app_services.usage
    ctx = MonthToDateContext(usage=usage, rollups=RollupStore(app_services.account), config=app_services.config)
    legacy = records(40)
    assert store_as_first_release(usage, legacy) == 40
    assert refresh(ctx, "2026-10") == 40
    assert requests_and_input(ctx.rollups.month_usage("2026-10")) == (40, 40 * 1000 + sum(range(40)))

    assert usage.write(legacy[:15] + records(5, first=40)) == 20   # 15 redelivered + 5 new, current scheme
    refresh(ctx, "2026-10")
    expected = (45, 45 * 1000 + sum(range(45)))   # each record once: 40 + 5 new
    assert requests_and_input(aggregate_stored_month(usage, "2026-10")) == expected
    assert requests_and_input(ctx.rollups.month_usage("2026-10")) == expected
    assert refresh(ctx, "2026-10") == 0   # nothing changed since: nothing read again
