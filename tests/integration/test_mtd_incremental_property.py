"""Against Azurite, the property behind the incremental month to date: whatever sequence of arrivals (late,
redelivered, replaced, written while a refresh reads) and refreshes happens, and whatever happens to the
merged rollup meanwhile (lost, or overwritten by an older one, as a slower concurrent writer would), the
rollups merged after a refresh equal a full read of the stored month, and the month-to-date document equals
one priced from that full read."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeback.config.loading import parse_config
from chargeback.settings import Settings
from chargeback.storage.rollup_store import ROLLUPS, RollupStore, merged_blob, part_blob
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.reading import aggregate_stored_month
from chargeback.usage.record import UsageRecord
from chargeback.wiring import Services
from chargeback.workflow.month_to_date import (
    MonthToDateContext,
    changed_partitions,
    price_to_date_step,
    refresh_partition_step,
)

MONTH = "2026-10"
AS_OF = "2026-10-20T10:00:00+00:00"
CONFIG = """
currency: USD
markup_percent: 7
departments:
  - {id: marketing, name: Marketing, owners: [alice@example.com], subscriptions: [sub-mkt]}
  - {id: sales, name: Sales, owners: [bob@example.com], subscriptions: [sub-sales]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, output: 10.00}
pools:
  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 300.00,
     weights: {input: 1, cached_input: 0, output: 4}}
"""


@pytest.fixture(scope="module")
def fresh(azurite):
    """Services on tables of their own, one set per example (each example starts from an empty store)."""
    def make() -> Services:
        services = Services(Settings.from_env({"CHARGEBACK_STORAGE": azurite.connection_string,
                                               "CHARGEBACK_TABLE_PREFIX": "q" + uuid.uuid4().hex[:10]}))
        services.config.save(parse_config(CONFIG))
        return services
    return make


def record(n: int, day: int, hour: int, who: int, tokens: int, variant: int = 0) -> UsageRecord:
    """Record ``n``; ``variant`` > 0 is the same id sent again with other usage (its row is replaced)."""
    subscription = ("sub-mkt", "sub-sales", "sub-nobody")[who % 3]
    deployment = ("gpt-4o", "gpt-4o-ptu", "gpt-4o", "no-price")[n % 4]
    meters = MeterQuantities(input=tokens + 1_000 * variant, cached_input=tokens // 3, output=tokens // 2 + n,
                             audio_seconds=Decimal(n % 5) / 4)
    return UsageRecord(f"r{n}", datetime(2026, 10, day, hour, tzinfo=UTC), subscription, deployment,
                       meters=meters, model="gpt-4o", end_user=("", "u1", f"u{n % 4}")[n % 3],
                       tags=(("team=a",), (), ("team=b", "env=x"))[n % 3],
                       served_deployment="gpt-4o" if n % 7 == 6 and deployment == "gpt-4o-ptu" else "")


records = st.builds(record, n=st.integers(0, 40), day=st.integers(1, 31), hour=st.integers(0, 23),
                    who=st.integers(0, 2), tokens=st.integers(0, 3_000_000), variant=st.integers(0, 2))
steps = st.lists(st.one_of(
    st.tuples(st.just("write"), st.lists(records, min_size=1, max_size=12)),
    st.tuples(st.just("again"), st.integers(0, 10)),            # redeliver what an earlier write sent
    st.tuples(st.just("refresh"), st.none()),
    st.tuples(st.just("racing"), st.lists(records, min_size=1, max_size=4)),   # written while a refresh reads
    st.tuples(st.just("lose_merged"), st.none()),
    st.tuples(st.just("old_merged"), st.none()),                # an older merged sum written back
), min_size=1, max_size=9)


class FullRead:
    """A rollup store that merges nothing: the month read whole from the usage table (the oracle)."""

    def __init__(self, services: Services):
        self.services = services

    def month_usage(self, month: str):
        return aggregate_stored_month(self.services.usage, month)

    def put_month_to_date(self, month: str, document: dict) -> None:
        pass


def refresh(ctx: MonthToDateContext, during: list[UsageRecord] | None = None) -> None:
    changed = changed_partitions(ctx, MONTH)
    if during:
        ctx.usage.write(during)   # after the listing, before (some of) the reads
    for part in changed:
        refresh_partition_step(ctx, MONTH, part["partition"], part["watermark"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plan=steps)
def test_any_arrivals_and_refreshes_equal_a_full_read(fresh, plan):
    services = fresh()
    ctx = MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account), config=services.config)
    oracle = MonthToDateContext(usage=services.usage, rollups=FullRead(services), config=services.config)
    sent: list[list[UsageRecord]] = []
    snapshots: list[bytes] = []
    for action, arg in [*plan, ("refresh", None)]:
        if action == "write":
            services.usage.write(arg)
            sent.append(arg)
        elif action == "again" and sent:
            services.usage.write(sent[arg % len(sent)])
        elif action == "racing":
            refresh(ctx, during=arg)
        elif action == "lose_merged":
            ctx.rollups.delete(merged_blob(MONTH))
        elif action == "old_merged" and snapshots:
            ctx.rollups.documents.put(ROLLUPS, merged_blob(MONTH), snapshots[0], "application/zlib")
        elif action == "refresh":
            refresh(ctx)
            assert changed_partitions(ctx, MONTH) == []
            assert ctx.rollups.month_usage(MONTH) == aggregate_stored_month(services.usage, MONTH)
            assert price_to_date_step(ctx, MONTH, AS_OF) == price_to_date_step(oracle, MONTH, AS_OF)
            merged = ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH))
            if merged is not None:
                snapshots.append(merged)


def test_a_missing_current_aggregate_is_read_again_by_the_next_refresh(fresh):
    services = fresh()
    ctx = MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account), config=services.config)
    services.usage.write([record(1, 2, 9, 0, 1_000), record(2, 30, 9, 1, 2_000)])
    refresh(ctx)
    (partition, digest), _other = sorted(
        (p, row[1]) for p, row in ctx.rollups._rows(MONTH).items())
    ctx.rollups.delete(part_blob(MONTH, partition, digest))
    ctx.rollups.delete(merged_blob(MONTH))
    with pytest.raises(FileNotFoundError):
        ctx.rollups.month_usage(MONTH)
    assert [c["partition"] for c in changed_partitions(ctx, MONTH)] == [partition]
    refresh(ctx)
    assert ctx.rollups.month_usage(MONTH) == aggregate_stored_month(services.usage, MONTH)
