"""Against Azurite: the month's merged rollup is rewritten only when it must be (chargeback/storage/
rollup_store). Refreshes that only add rows leave the merged blob as it is and keep, on each partition's
row, what its aggregate adds to the one the blob names (cumulated); the month is still exactly a full read
of the stored rows after every refresh, whatever happens between the writes (a crash after the blob and
before its ``~merged`` row, a stale ``~merged`` row, a refresh listed before another ran, a delta too big
for a row, a lost blob, legacy partitions), and no part blob is left that nothing names."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chargeback.storage import rollup_parts
from chargeback.storage.rollup_store import MERGED_ROW, ROLLUP_TABLE, ROLLUPS, RollupStore, merged_blob, part_blob
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.reading import aggregate_stored_month
from chargeback.usage.record import UsageRecord
from chargeback.usage.rollup_binary import decode_usage
from chargeback.workflow.month_to_date import MonthToDateContext, changed_partitions, refresh_partition_step
from tests.fixtures.legacy_usage import store_as_first_release

from .test_mtd_incremental_property import MONTH, fresh, record  # noqa: F401 (fixture)


def context(services) -> MonthToDateContext:
    return MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account), config=services.config)


def refresh(ctx: MonthToDateContext, listed: list[dict] | None = None) -> list[str]:
    """As the orchestrator does: each listed partition's step given the whole listing entry."""
    return [refresh_partition_step(ctx, MONTH, **part)["read"]
            for part in (changed_partitions(ctx, MONTH) if listed is None else listed)]


def merged_puts(ctx: MonthToDateContext) -> list[str]:
    """The names ``ctx``'s store writes blobs to from now on (the writes themselves still happen)."""
    names: list[str] = []
    put = ctx.rollups.documents.put

    def counted(container, name, *args, **kwargs):
        names.append(name)
        return put(container, name, *args, **kwargs)

    ctx.rollups.documents.put = counted
    return names


def merged_groups(ctx: MonthToDateContext) -> int:
    """How many line groups the stored merged blob holds, read from the blob itself."""
    data = ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH))
    return len(decode_usage(rollup_parts.merged_document(data)["usage"]))   # MonthUsage: groups + spilled


def part_blobs(ctx: MonthToDateContext) -> set[str]:
    container = ctx.rollups.account.container(ROLLUPS)
    return {blob.name for blob in container.list_blobs(name_starts_with=f"{MONTH}/parts/")}


def named(ctx: MonthToDateContext) -> set[str]:
    """The part blobs the partitions' rows and the merged blob name."""
    names = {part_blob(MONTH, p, d) for p, (_mark, d) in ctx.rollups.parts(MONTH).items() if d}
    data = ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH))
    if data is not None:
        names |= {part_blob(MONTH, p, d) for p, d in rollup_parts.merged_document(data)["parts"].items()}
    return names


def exact(ctx: MonthToDateContext, services) -> None:
    assert ctx.rollups.month_usage(MONTH) == aggregate_stored_month(services.usage, MONTH)


def month_of(services) -> list[UsageRecord]:
    """40 records over days 1-28 (some 40 line groups), stored."""
    base = [record(n, 1 + n % 28, 9, n % 3, 1_000 + n) for n in range(40)]
    services.usage.write(base)
    return base


def refreshed_month(new_account) -> tuple[Any, MonthToDateContext, list[UsageRecord]]:
    """``new_account()`` (the ``fresh`` fixture) with ``month_of`` stored, refreshed once and priced (the
    merged sum written)."""
    services = new_account()
    ctx = context(services)
    base = month_of(services)
    refresh(ctx)
    exact(ctx, services)
    return services, ctx, base


def late(k: int, who: int = 0, day: int = 28) -> UsageRecord:
    """A new record on ``day`` in line group (sub ``who``, gpt-4o, day): ids from 1000, a multiple of 4."""
    return record(1_000 + 4 * k, day, 10, who, 2_000 + k)


def test_delta_only_refreshes_leave_the_merged_blob_alone_and_stay_exact(fresh):  # noqa: F811
    services, ctx, _base = refreshed_month(fresh)   # the first: merged from the parts, written
    puts = merged_puts(ctx)
    for k in range(5):
        services.usage.write([late(k)])
        assert refresh(ctx) == ["since"]
        exact(ctx, services)
    assert merged_blob(MONTH) not in puts
    assert part_blobs(ctx) == named(ctx)   # the four aggregates between the base and the current one: gone
    assert len(part_blobs(ctx)) == len(ctx.rollups.parts(MONTH)) + 1   # each partition's, and the late one's base


def test_two_refreshes_without_pricing_leave_no_middle_aggregate(fresh):  # noqa: F811
    services, ctx, _base = refreshed_month(fresh)
    for k in range(3):   # no month_usage between: nothing but the refresh itself can clean up
        services.usage.write([late(k, who=k)])
        refresh(ctx)
    assert part_blobs(ctx) == named(ctx)
    exact(ctx, services)
    assert part_blobs(ctx) == named(ctx)


def test_the_merged_blob_is_rewritten_when_the_deltas_pass_a_quarter_of_its_groups(fresh):  # noqa: F811
    services = fresh()
    ctx = context(services)
    base = [record(n, 1 + n, 9, n % 3, 1_000 + n) for n in range(0, 24, 4)]   # gpt-4o: 6 groups (who, day)
    services.usage.write(base)
    refresh(ctx)
    exact(ctx, services)
    groups = merged_groups(ctx)
    assert groups == 6
    puts = merged_puts(ctx)
    taken = {(r.subscription, r.timestamp.day) for r in base}
    new = [(who, r.timestamp.day) for r in base for who in range(3)
           if (("sub-mkt", "sub-sales", "sub-nobody")[who], r.timestamp.day) not in taken]
    since_rewrite: set[tuple[int, int]] = set()   # the line groups (who, day) added since the blob was written
    for k, (who, day) in enumerate(new[:9]):
        services.usage.write([late(k, who, day)])   # a new group, in a partition read before
        assert refresh(ctx) == ["since"]
        since_rewrite.add((who, day))
        before = puts.count(merged_blob(MONTH))
        exact(ctx, services)
        rewritten = puts.count(merged_blob(MONTH)) > before
        assert rewritten == (4 * len(since_rewrite) > groups), (k, since_rewrite, groups)
        if rewritten:
            groups, since_rewrite = merged_groups(ctx), set()
    assert puts.count(merged_blob(MONTH)) >= 2


def test_a_read_whole_partition_makes_the_rewrite(fresh):  # noqa: F811
    services, ctx, base = refreshed_month(fresh)
    puts = merged_puts(ctx)
    services.usage.write([base[27]])   # redelivered: its partition is read whole, no delta
    assert refresh(ctx) == ["whole"]
    exact(ctx, services)
    assert puts.count(merged_blob(MONTH)) == 1
    assert part_blobs(ctx) == named(ctx)


def test_a_delta_too_big_for_a_row_is_swapped_in_exactly(fresh, monkeypatch):  # noqa: F811
    services, ctx, _base = refreshed_month(fresh)
    monkeypatch.setattr(rollup_parts, "DELTA_BYTES", 40)   # no delta fits a row
    puts = merged_puts(ctx)
    for k in range(3):
        services.usage.write([late(k)])
        assert refresh(ctx) == ["since"]
        exact(ctx, services)
    assert puts.count(merged_blob(MONTH)) == 3
    table = services.account.table(ROLLUP_TABLE)
    assert not any(row.get("Delta") for row in table.query_entities("PartitionKey eq @m", parameters={"m": MONTH}))
    assert part_blobs(ctx) == named(ctx)


def test_a_crash_between_the_merged_blob_and_its_row_costs_a_swap_not_a_miscount(fresh, monkeypatch):  # noqa: F811
    services, ctx, base = refreshed_month(fresh)
    services.usage.write([late(0)])
    refresh(ctx)
    exact(ctx, services)

    def crash(self, month, digests):
        raise RuntimeError("the host stopped")

    services.usage.write([base[27], late(1)])   # read whole: the next month_usage rewrites
    refresh(ctx)
    with monkeypatch.context() as patched:
        patched.setattr(RollupStore, "put_bases", crash)
        with pytest.raises(RuntimeError):
            ctx.rollups.month_usage(MONTH)   # the blob is written, ~merged still names the bases before
    for k in range(2, 5):
        services.usage.write([late(k)])
        refresh(ctx)
        exact(ctx, services)
    puts = merged_puts(ctx)
    services.usage.write([late(9)])
    assert refresh(ctx) == ["since"]
    exact(ctx, services)   # ~merged agrees with the blob again: a delta, no rewrite
    assert merged_blob(MONTH) not in puts


def test_a_stale_merged_row_and_a_refresh_listed_before_another_stay_exact(fresh):  # noqa: F811
    services, ctx, _base = refreshed_month(fresh)
    table = services.account.table(ROLLUP_TABLE)
    old = table.get_entity(MONTH, MERGED_ROW)
    services.usage.write([late(0, day=29), late(1, day=2)])
    refresh(ctx)
    exact(ctx, services)
    services.usage.write([late(2, day=2), late(3, day=29)])
    refresh(ctx)
    exact(ctx, services)
    table.upsert_entity(old)   # names bases the blob no longer names
    services.usage.write([late(4, day=2)])
    refresh(ctx)
    exact(ctx, services)

    services.usage.write([late(5, day=29), late(6, day=2)])
    listed = changed_partitions(ctx, MONTH)   # listed, then another refresh runs first
    services.usage.write([late(7, day=29)])
    refresh(ctx)
    exact(ctx, services)
    refresh(ctx, listed)   # older ``previous``, ``base`` and watermark
    exact(ctx, services)
    refresh(ctx)
    exact(ctx, services)
    assert changed_partitions(ctx, MONTH) == []


def test_a_lost_merged_blob_is_merged_again_and_deltas_follow(fresh):  # noqa: F811
    services, ctx, _base = refreshed_month(fresh)
    services.usage.write([late(0)])
    refresh(ctx)
    ctx.rollups.delete(merged_blob(MONTH))
    exact(ctx, services)
    puts = merged_puts(ctx)
    for k in range(1, 4):
        services.usage.write([late(k)])
        assert refresh(ctx) == ["since"]
        exact(ctx, services)
    assert merged_blob(MONTH) not in puts


def test_legacy_partitions_stay_exact_and_leave_no_aggregates_behind(fresh):  # noqa: F811
    services = fresh()
    ctx = context(services)
    legacy = [UsageRecord(f"req-{i:03d}", datetime(2026, 10, 5, 9, i, tzinfo=UTC), f"sub-{i % 2}", "gpt-4o",
                          meters=MeterQuantities(input=1_000 + i, output=7)) for i in range(30)]
    store_as_first_release(services.usage, legacy)
    month_of(services)
    refresh(ctx)
    exact(ctx, services)
    for k in range(3):
        services.usage.write([late(k), legacy[k]])   # a legacy record redelivered under the current key
        refresh(ctx)
        exact(ctx, services)
        assert part_blobs(ctx) == named(ctx)
    assert ctx.rollups.month_usage(MONTH) == aggregate_stored_month(services.usage, MONTH)
