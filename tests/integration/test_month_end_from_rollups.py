"""Against Azurite: the month-end priced from the month-to-date rollups equals a full aggregation of the
stored month, on every golden month and on a generated month whose late events arrive between refreshes;
a refresh of an unchanged month reads nothing."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.storage.rollup_store import RollupStore
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.usage.reading import aggregate_stored_month
from chargeback.usage.record import UsageRecord
from chargeback.workflow.month_to_date import MonthToDateContext, changed_partitions, refresh_partition_step
from devhost.generate.month import generate_month
from tests.fixtures.invoice_inputs import GOLDEN, golden_record


def refresh(ctx: MonthToDateContext, month: str) -> int:
    """What run-month does first: refresh the partitions written since; how many records it read."""
    return sum(refresh_partition_step(ctx, month, c["partition"], c["watermark"])["records"]
               for c in changed_partitions(ctx, month))


def both_ways(ctx: MonthToDateContext, month: str, config) -> tuple[dict, dict]:
    full = price_month(month, aggregate_stored_month(ctx.usage, month), config)
    from_rollups = price_month(month, ctx.rollups.month_usage(month), config)
    return full.to_dict(), from_rollups.to_dict()


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_every_golden_month_prices_the_same_from_rollups_as_from_a_full_read(app_services, path):
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    month, config = case["month"], parse_config(case["config"])
    # In UTC, as ingest parses them (usage.events): storage keys a record by its timestamp's own month.
    records = [golden_record(n, {**row, "at": datetime.fromisoformat(row["at"]).astimezone(UTC).isoformat()})
               for n, row in enumerate(case["records"])]
    ctx = MonthToDateContext(usage=app_services.usage, rollups=RollupStore(app_services.account),
                             config=app_services.config)
    half = len(records) // 2
    app_services.usage.write(records[:half])
    refresh(ctx, month)
    app_services.usage.write(records[half:])    # the rest arrives after the first refresh
    assert refresh(ctx, month) >= sum(1 for r in records[half:] if r.month == month)   # partitions re-read whole
    full, from_rollups = both_ways(ctx, month, config)
    assert from_rollups == full
    if "grand_total" in case["expected"]:   # hand-worked in the case file
        assert from_rollups["grand_total"] == str(case["expected"]["grand_total"])
    assert refresh(ctx, month) == 0   # an unchanged month: nothing read again


def test_a_generated_month_with_late_events_prices_the_same_both_ways(app_services):
    generated = generate_month("2026-10", departments=6, events=3_000, bad_events=0, seed=11)
    config = parse_config(generated.config_yaml)
    records = parse_batch([RawEvent(line.encode(), "0", i) for i, line in enumerate(generated.lines)])[0]
    ctx = MonthToDateContext(usage=app_services.usage, rollups=RollupStore(app_services.account),
                             config=app_services.config)
    on_time = [r for r in records if r.timestamp.day <= 20]
    late = [r for r in records if r.timestamp.day > 20]
    app_services.usage.write(on_time)
    assert refresh(ctx, "2026-10") == len(on_time)
    # Late events: the rest of the month, plus a few stamped early in the month arriving only now, and
    # redeliveries of on-time records.
    rng = random.Random(3)
    stragglers = [r for r in late if rng.random() < 0.05]
    early = [UsageRecord(r.record_id + "-late", r.timestamp - timedelta(days=18), r.subscription, r.deployment,
                         meters=r.meters, model=r.model) for r in stragglers]
    app_services.usage.write(late + early + on_time[:50])
    read_again = refresh(ctx, "2026-10")
    assert 0 < read_again < len(records) + len(early)
    full, from_rollups = both_ways(ctx, "2026-10", config)
    assert from_rollups == full
    assert full["grand_total"] != "0.00" and len(full["departments"]) >= 6   # + the unallocated subscription
    assert refresh(ctx, "2026-10") == 0
