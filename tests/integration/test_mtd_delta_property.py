"""Against Azurite, the property behind the delta read (chargeback/storage/usage_delta): whatever arrives
(new rows, rows inside the margin window, redeliveries of old rows, rows replaced with other usage, rows
written while a refresh reads, some of which that read does not see) and whatever happens to the merged
rollup and to the deltas kept on its rows, after every refresh the rollups equal a full read of the stored
month and price the same. Run with the real margin (every row is inside the window: keys re-read) and with
the margin made 0 s and pauses of 2.5 s (old rows fall outside the window, as in an hourly refresh)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeback.storage import usage_delta
from chargeback.storage.rollup_store import ROLLUP_TABLE, ROLLUPS, RollupStore, merged_blob
from chargeback.storage.usage_delta import PartitionReader
from chargeback.storage.usage_table import SLICES_PER_MONTH, partition_key
from chargeback.usage.reading import aggregate_stored_month
from chargeback.workflow.month_to_date import (
    MonthToDateContext,
    changed_partitions,
    price_to_date_step,
    refresh_partition_step,
)

from .test_mtd_incremental_property import AS_OF, MONTH, FullRead, fresh, records  # noqa: F401 (fixture)

steps = st.lists(st.one_of(
    st.tuples(st.just("write"), st.lists(records, min_size=1, max_size=10)),
    st.tuples(st.just("again"), st.integers(0, 10)),             # redeliver what an earlier write sent
    st.tuples(st.just("refresh"), st.none()),
    st.tuples(st.just("racing"), st.lists(records, min_size=1, max_size=4)),   # listed, then written, then read
    st.tuples(st.just("missed"), st.lists(records, min_size=1, max_size=4)),   # ... and the read does not see them
    st.tuples(st.just("pause"), st.none()),
    st.tuples(st.just("lose_merged"), st.none()),
    st.tuples(st.just("old_merged"), st.none()),
    st.tuples(st.just("drop_deltas"), st.none()),                # merged sum brought up to date from the parts
), min_size=1, max_size=10)


@contextmanager
def unseen(rows_unseen: set[tuple[str, str]]):
    """Reads that do not return these (partition, row key) rows, as rows committed after the read went past
    them (a row stored before the read began is always seen: Table Storage is strongly consistent)."""
    rows = PartitionReader._rows

    def hidden(self, partition, where, select):
        return (row for row in rows(self, partition, where, select) if (partition, row["RowKey"]) not in rows_unseen)

    PartitionReader._rows = hidden
    try:
        yield
    finally:
        PartitionReader._rows = rows


def rows_of(records) -> set[tuple[str, str]]:
    return {(partition_key(r, SLICES_PER_MONTH), r.record_id) for r in records}


def run(services, plan, pause: float) -> list[str]:
    """Play the plan; after every refresh the rollups must equal a full read. Returns how each read went."""
    ctx = MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account), config=services.config)
    oracle = MonthToDateContext(usage=services.usage, rollups=FullRead(services), config=services.config)
    sent: list[list] = []
    snapshots: list[bytes] = []
    reads: list[str] = []

    def refresh(during=None, hide=False) -> None:
        stored = rows_of([r for batch in sent for r in batch])   # before this refresh's own writes
        changed = changed_partitions(ctx, MONTH)
        hidden: set[tuple[str, str]] = set()   # written after the listing: listed again next time
        if during and hide and len(during) > 1:   # not seen, and stamped before a row that is seen
            first, last = during[:-1], during[-1]
            services.usage.write(first)
            services.usage.write([last])
            hidden = rows_of(first) - rows_of([last])
        elif during:
            services.usage.write(during)
            hidden = rows_of(during) if hide else set()
        with unseen(hidden - stored):   # a row stored before (now rewritten) would be seen, in one version
            for part in changed:
                reads.append(refresh_partition_step(ctx, MONTH, part["partition"], part["watermark"])["read"])

    for action, arg in [*plan, ("refresh", None)]:
        if action == "write":
            services.usage.write(arg)
            sent.append(arg)
        elif action == "again" and sent:
            services.usage.write(sent[arg % len(sent)])
        elif action in ("racing", "missed"):
            refresh(during=arg, hide=action == "missed")
            sent.append(arg)
        elif action == "pause":
            time.sleep(pause)
        elif action == "lose_merged":
            ctx.rollups.delete(merged_blob(MONTH))
        elif action == "old_merged" and snapshots:
            ctx.rollups.documents.put(ROLLUPS, merged_blob(MONTH), snapshots[0], "application/zlib")
        elif action == "drop_deltas":
            table = services.account.table(ROLLUP_TABLE)
            for partition in ctx.rollups._rows(MONTH):
                table.upsert_entity({"PartitionKey": MONTH, "RowKey": partition, "Previous": "", "Delta": b""})
        elif action == "refresh":
            refresh()
            assert changed_partitions(ctx, MONTH) == []
            assert ctx.rollups.month_usage(MONTH) == aggregate_stored_month(services.usage, MONTH)
            assert price_to_date_step(ctx, MONTH, AS_OF) == price_to_date_step(oracle, MONTH, AS_OF)
            merged = ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH))
            if merged is not None:
                snapshots.append(merged)
    return reads


def examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@examples(10)
@given(plan=steps)
def test_inside_the_margin_any_arrivals_and_refreshes_equal_a_full_read(fresh, plan):  # noqa: F811
    run(fresh(), plan, pause=0.0)


@examples(4)
@given(plan=steps)
def test_past_the_margin_any_arrivals_and_refreshes_equal_a_full_read(fresh, plan, monkeypatch):  # noqa: F811
    monkeypatch.setattr(usage_delta, "MARGIN", timedelta(0))
    run(fresh(), plan, pause=2.5)


def test_rows_a_read_did_not_see_are_counted_by_the_next_one(fresh):  # noqa: F811
    """A fixed plan through every branch: whole, since (new rows only), a row the read did not see (found
    in the margin window next time), a redelivery (read whole), then since again."""
    from .test_mtd_incremental_property import record
    services = fresh()
    day30 = [record(1, 30, 9, 0, 1_000), record(2, 30, 10, 1, 2_000)]
    late = [record(3, 30, 11, 0, 3_000)]
    plan = [("write", day30), ("refresh", None), ("write", late), ("refresh", None),
            ("write", [record(7, 30, 14, 0, 7_000)]),
            ("missed", [record(4, 30, 12, 1, 4_000), record(6, 30, 15, 1, 6_000)]),   # 4 not seen, 6 seen
            ("refresh", None), ("again", 0), ("refresh", None), ("write", [record(5, 30, 13, 2, 5_000)])]
    # whole (never read); since (3 new); since (7 and 6 new; 4 not seen); since (4, stamped before 6 but
    # inside the margin window, and not counted: added); whole (1 and 2 written again); since (5 new).
    assert run(services, plan, pause=0.0) == ["whole", "since", "since", "since", "whole", "since"]


def test_without_the_margin_a_row_the_read_did_not_see_is_lost(fresh, monkeypatch):  # noqa: F811
    """Why the margin: with ``since`` set after the read began (a margin of -5 s), a row written during a
    read that the read did not see is never counted, and the rollups are short of a full read."""
    from .test_mtd_incremental_property import record
    monkeypatch.setattr(usage_delta, "MARGIN", timedelta(seconds=-5))
    with pytest.raises(AssertionError):
        run(fresh(), [("write", [record(1, 30, 9, 0, 1_000)]), ("refresh", None),
                      ("write", [record(3, 30, 9, 0, 3_000)]),
                      ("missed", [record(2, 30, 10, 1, 2_000), record(4, 30, 10, 1, 4_000)])], pause=0.0)
