"""Against Azurite, each path of the hourly refresh in one step (chargeback/workflow/mtd_refresh): the fast
path reads only the new rows (fetched while the stored aggregate is, with the ``Since`` on the rollup row);
a ``Since`` on the row that is not the aggregate's own still counts every row once; more than ``few``
changed partitions (or a legacy one) do nothing but list them; a failure while storing leaves nothing the
next refresh cannot repair, and nothing named that is not stored; a partition read whole, or no merged
blob, stores the aggregates before the month is summed. Each result is checked against a full read of the
stored month (``FullRead``), never against the step's own figures."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from chargeback.storage import usage_delta
from chargeback.storage.rollup_store import ROLLUP_TABLE, ROLLUPS, RollupStore, merged_blob, part_blob
from chargeback.storage.usage_delta import PartitionReader
from chargeback.storage.usage_table import SLICES_PER_MONTH, partition_key
from chargeback.usage.reading import aggregate_stored_month
from chargeback.workflow import mtd_refresh
from chargeback.workflow.month_to_date import (
    MonthToDateContext,
    changed_partitions,
    price_to_date_step,
    refresh_partition_step,
)
from chargeback.workflow.mtd_refresh import FEW, refresh_to_date_step
from tests.fixtures.legacy_usage import store_as_first_release

from .test_mtd_incremental_property import AS_OF, MONTH, FullRead, fresh, record  # noqa: F401 (fixture)

LAST = partition_key(record(0, 31, 12, 0, 0), SLICES_PER_MONTH)   # the month's last slice
FIRST = partition_key(record(0, 1, 12, 0, 0), SLICES_PER_MONTH)


class Crash(Exception):
    pass


def context(services) -> MonthToDateContext:
    return MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account), config=services.config)


def oracle(services) -> MonthToDateContext:
    return MonthToDateContext(usage=services.usage, rollups=FullRead(services), config=services.config)


@pytest.fixture
def past_margin(monkeypatch):
    """The margin made 0 s (usage_delta.MARGIN), as test_mtd_delta_property: rows written a few seconds
    before a refresh began are outside its window, so the next refresh reads only the rows written since."""
    monkeypatch.setattr(usage_delta, "MARGIN", timedelta(0))


@pytest.fixture
def reads(monkeypatch) -> Counter:
    """Usage rows returned by the refresh's reader (storage/usage_delta), per partition."""
    counted: Counter = Counter()
    rows = PartitionReader._rows

    def counting(self, partition, where, select):
        for row in rows(self, partition, where, select):
            counted[partition] += 1
            yield row

    monkeypatch.setattr(PartitionReader, "_rows", counting)
    return counted


def refreshed_month(services, pause: float = 2.5) -> MonthToDateContext:
    """20 records on days 1, 6, ..., 26 and 31 (7 partitions), stored ``pause`` s before a refresh as the
    orchestrator runs it: more than FEW changed, so the one step lists them and they are fanned out."""
    services.usage.write([record(n, 1 + n % 6 * 5, 9, n % 3, 1_000 + n) for n in range(18)]
                         + [record(18, 31, 3, 0, 5_000), record(19, 31, 20, 1, 6_000)])
    time.sleep(pause)
    ctx = context(services)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert len(done["changed"]) == 7
    for part in done["changed"]:
        refresh_partition_step(ctx, MONTH, **part)
    price_to_date_step(ctx, MONTH, AS_OF)
    assert changed_partitions(ctx, MONTH) == []
    return ctx


def new_rows(services, day: int = 31, first: int = 100, count: int = 3) -> list:
    rows = [record(first + k, day, 10 + k, k % 3, 7_000 + k) for k in range(count)]
    services.usage.write(rows)
    return rows


def assert_exact(services, ctx: MonthToDateContext, document: dict | None = None) -> None:
    """The rollups are a full read of the stored month, and the stored document prices it."""
    assert changed_partitions(ctx, MONTH) == []
    assert ctx.rollups.month_usage(MONTH) == aggregate_stored_month(services.usage, MONTH)
    expected = price_to_date_step(oracle(services), MONTH, AS_OF)
    assert ctx.rollups.month_to_date(MONTH) == expected
    if document is not None:
        assert document == expected


def rollup_state(services) -> tuple[list, dict]:
    """Every rollup row (with its ETag) and every rollup blob's ETag."""
    rows = sorted(((e["RowKey"], e.metadata["etag"], dict(e))
                   for e in services.account.table(ROLLUP_TABLE).query_entities(
                       "PartitionKey eq @m", parameters={"m": MONTH})), key=lambda r: r[0])
    blobs = {b.name: b.etag for b in services.account.container(ROLLUPS).list_blobs(name_starts_with=f"{MONTH}/")}
    return rows, blobs


def named_parts_stored(ctx: MonthToDateContext) -> None:
    """Every aggregate the merged blob or a rollup row names is stored."""
    merged = ctx.rollups.merged(MONTH)
    named = dict(merged["parts"]) if merged is not None else {}
    missing = [(p, d) for p, d in [*named.items(), *((p, d) for p, (_m, d) in ctx.rollups.parts(MONTH).items())]
               if d and ctx.rollups.documents.get(ROLLUPS, part_blob(MONTH, p, d)) is None]
    assert missing == []


def set_since(services, partition: str, since: str) -> None:
    services.account.table(ROLLUP_TABLE).upsert_entity({"PartitionKey": MONTH, "RowKey": partition, "Since": since})


# (a) the fast path


def test_one_changed_partition_is_read_since_once_and_priced_as_the_three_steps(fresh, past_margin, reads):  # noqa: F811
    services = fresh()
    ctx = refreshed_month(services)
    listed = changed_partitions(ctx, MONTH)
    assert listed == []
    new_rows(services)
    (entry,) = changed_partitions(ctx, MONTH)
    assert entry["partition"] == LAST and entry["since"]   # the row carries the aggregate's Since
    reads.clear()
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    # The three new rows, fetched once (while the aggregate was) and used: no second query, no whole read.
    assert done["partitions"] == [{"partition": LAST, "records": 3, "read": "since"}]
    assert reads == Counter({LAST: 3})
    assert done["document"] == price_to_date_step(ctx, MONTH, AS_OF)   # the three steps' pricing, same state
    assert_exact(services, ctx, done["document"])


def test_nothing_changed_reads_nothing_and_prices_the_same(fresh, reads):  # noqa: F811
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    before = ctx.rollups.month_to_date(MONTH)
    reads.clear()
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert (done["partitions"], reads) == ([], Counter())
    assert done["document"] == before
    assert_exact(services, ctx, done["document"])


# (b) a Since on the row that is not the aggregate's


@pytest.mark.parametrize("moved", [-3600, 3600], ids=["older", "newer"])
def test_a_since_on_the_row_other_than_the_aggregates_counts_every_row_once(fresh, past_margin, reads, moved):  # noqa: F811
    """Older: the rows fetched include counted rows outside the aggregate's window (used, they would make
    it read whole); newer: they miss the new rows (used, the month would be short). Either way they are
    discarded and the query made again from the aggregate's own ``since``."""
    services = fresh()
    ctx = refreshed_month(services)
    new_rows(services)
    time.sleep(2.5)   # before this refresh: outside its window, so the next one reads the rows after it only
    (entry,) = changed_partitions(ctx, MONTH)
    set_since(services, LAST, (datetime.fromisoformat(entry["since"]) + timedelta(seconds=moved)).isoformat())
    assert changed_partitions(ctx, MONTH)[0]["since"] != entry["since"]
    reads.clear()
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert done["partitions"] == [{"partition": LAST, "records": 3, "read": "since"}]
    assert_exact(services, ctx, done["document"])
    # The row has its aggregate's Since again: the next refresh reads only its new rows, once.
    new_rows(services, first=200, count=2)
    reads.clear()
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert (done["partitions"], reads) == ([{"partition": LAST, "records": 2, "read": "since"}], Counter({LAST: 2}))
    assert_exact(services, ctx, done["document"])


def test_a_row_without_since_reads_since_the_aggregates_own(fresh, past_margin, reads):  # noqa: F811
    """A rollup row from before ``Since`` was kept on it: nothing is fetched ahead, the aggregate's own
    ``since`` is queried once, and the row stored has its Since."""
    services = fresh()
    ctx = refreshed_month(services)
    new_rows(services)
    set_since(services, LAST, "")
    assert changed_partitions(ctx, MONTH)[0]["since"] is None
    reads.clear()
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert (done["partitions"], reads) == ([{"partition": LAST, "records": 3, "read": "since"}], Counter({LAST: 3}))
    assert_exact(services, ctx, done["document"])
    assert ctx.rollups.listing(MONTH).since.get(LAST)


# (c) more than few


def test_more_than_few_changed_partitions_are_listed_and_nothing_is_written(fresh, reads):  # noqa: F811
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    for day in (1, 6, 11, 16, 21):   # FEW + 1 partitions
        new_rows(services, day=day, first=100 + day, count=1)
    before = rollup_state(services)
    reads.clear()
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert len(done["changed"]) == FEW + 1
    assert done == {"changed": changed_partitions(ctx, MONTH)}
    assert rollup_state(services) == before and reads == Counter()
    # Five changed are more than ``few`` = 1 as well.
    assert refresh_to_date_step(ctx, MONTH, AS_OF, few=1)["changed"] == changed_partitions(ctx, MONTH)
    assert rollup_state(services) == before


def test_few_changed_partitions_are_refreshed_in_the_one_step(fresh):  # noqa: F811
    """FEW changed: not more than FEW, all read (together) and priced in the step."""
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    days = (1, 6, 11, 31)[:FEW]
    for day in days:
        new_rows(services, day=day, first=100 + day, count=1)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert sorted(p["partition"] for p in done["partitions"]) == sorted(
        partition_key(record(0, day, 12, 0, 0), SLICES_PER_MONTH) for day in days)
    assert_exact(services, ctx, done["document"])


def test_the_months_first_refresh_lists_and_writes_nothing(fresh):  # noqa: F811
    services = fresh()
    services.usage.write([record(n, 1 + n * 5, 9, n % 3, 1_000 + n) for n in range(FEW + 2)])
    ctx = context(services)
    before = rollup_state(services)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert [c["partition"] for c in done["changed"]] == sorted(
        partition_key(record(n, 1 + n * 5, 9, 0, 0), SLICES_PER_MONTH) for n in range(FEW + 2))
    assert rollup_state(services) == before == ([], {})


def test_a_legacy_partition_is_fanned_out_however_few_changed(fresh):  # noqa: F811
    """A month from before the key change: its legacy partition is read again whenever a current one
    changed (month_to_date.changes), which the one step leaves to the fanned-out steps."""
    services = fresh()
    store_as_first_release(services.usage, [record(1, 2, 9, 0, 1_000), record(2, 3, 9, 1, 2_000)])
    services.usage.write([record(3, 31, 9, 0, 3_000)])
    ctx = context(services)
    before = rollup_state(services)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert sorted(c["partition"] for c in done["changed"]) == [
        LAST, f"{MONTH}~sub-mkt~00", f"{MONTH}~sub-sales~00"]   # the legacy ones, one per subscription
    assert done == {"changed": changed_partitions(ctx, MONTH)}
    assert rollup_state(services) == before


# (d) a failure while storing


@pytest.mark.parametrize("stored_first", [False, True], ids=["before-any", "after-one"])
def test_a_failure_while_storing_raises_and_the_next_refresh_is_exact(fresh, monkeypatch, stored_first):  # noqa: F811
    """Two partitions changed; the store fails on the first (nothing stored) or on the second (one
    stored). The merged sum is due for a rewrite (REWRITE_SHARE made large): it must not be written
    naming an aggregate not stored, nor the document be written from figures not stored."""
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    document_before = ctx.rollups.month_to_date(MONTH)
    merged_before = ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH))
    new_rows(services, day=1, first=100, count=2)
    new_rows(services, day=31, first=200, count=2)
    monkeypatch.setattr(mtd_refresh, "REWRITE_SHARE", 10**6)
    store_part = RollupStore.store_part
    calls: list[str] = []

    def failing(self, part):
        calls.append(part.row["RowKey"])
        if len(calls) == (2 if stored_first else 1):
            raise Crash
        return store_part(self, part)

    monkeypatch.setattr(RollupStore, "store_part", failing)
    with pytest.raises(Crash):
        refresh_to_date_step(ctx, MONTH, AS_OF)
    assert len(calls) == (2 if stored_first else 1)
    assert ctx.rollups.month_to_date(MONTH) == document_before
    assert ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH)) == merged_before
    named_parts_stored(ctx)
    monkeypatch.setattr(RollupStore, "store_part", store_part)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert [p["partition"] for p in done["partitions"]] == ([LAST] if stored_first else sorted([FIRST, LAST]))
    named_parts_stored(ctx)
    assert_exact(services, ctx, done["document"])


@pytest.mark.parametrize("failing", ["put_merged", "put_month_to_date"])
def test_a_failure_after_storing_raises_and_the_next_refresh_is_exact(fresh, monkeypatch, failing):  # noqa: F811
    """The aggregates stored, then the merged sum's rewrite (due: REWRITE_SHARE made large) or the
    document's write fails: the next refresh, with nothing changed, writes them exactly."""
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    new_rows(services, day=31, first=100, count=2)
    monkeypatch.setattr(mtd_refresh, "REWRITE_SHARE", 10**6)
    original = getattr(RollupStore, failing)

    def crash(self, *args, **kwargs):
        raise Crash

    monkeypatch.setattr(RollupStore, failing, crash)
    with pytest.raises(Crash):
        refresh_to_date_step(ctx, MONTH, AS_OF)
    monkeypatch.setattr(RollupStore, failing, original)
    assert changed_partitions(ctx, MONTH) == []   # the aggregates were stored
    named_parts_stored(ctx)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert done["partitions"] == []
    named_parts_stored(ctx)
    assert_exact(services, ctx, done["document"])


# (e) stored, then summed


def order_of_store_and_sum(monkeypatch) -> list[str]:
    """``stored P`` once a partition's aggregate is stored (after a pause, so that a sum run beside it
    starts first), ``sum`` when the month's sum starts."""
    events: list[str] = []
    store_part, sum_listed = RollupStore.store_part, mtd_refresh.sum_listed

    def slow_store(self, part):
        time.sleep(0.3)
        digest = store_part(self, part)
        events.append(f"stored {part.row['RowKey']}")
        return digest

    def summing(*args, **kwargs):
        events.append("sum")
        return sum_listed(*args, **kwargs)

    monkeypatch.setattr(RollupStore, "store_part", slow_store)
    monkeypatch.setattr(mtd_refresh, "sum_listed", summing)
    return events


def test_a_partition_read_whole_is_stored_before_the_month_is_summed(fresh, monkeypatch):  # noqa: F811
    """Record 18 (day 31) sent again with other usage: its partition is read whole, its delta is not one
    the merged sum can add, so the sum swaps aggregates, reading the new one: stored first."""
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    services.usage.write([record(18, 31, 3, 0, 5_000, variant=2)])
    events = order_of_store_and_sum(monkeypatch)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    # Read whole: its 2 rows, after the rows of the window the delta read met before the replaced one.
    (part,) = done["partitions"]
    assert (part["partition"], part["read"]) == (LAST, "whole") and 2 <= part["records"] <= 4
    assert events == [f"stored {LAST}", "sum"]
    named_parts_stored(ctx)
    assert_exact(services, ctx, done["document"])


def test_without_a_merged_blob_the_aggregates_are_stored_before_the_sum(fresh, monkeypatch):  # noqa: F811
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    ctx.rollups.delete(merged_blob(MONTH))
    new_rows(services, day=1, first=100, count=1)
    new_rows(services, day=31, first=200, count=1)
    events = order_of_store_and_sum(monkeypatch)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert {p["read"] for p in done["partitions"]} == {"since"}
    assert events == [f"stored {FIRST}", f"stored {LAST}", "sum"]
    assert ctx.rollups.merged(MONTH) is not None   # merged again from the stored aggregates
    named_parts_stored(ctx)
    assert_exact(services, ctx, done["document"])


def test_deltas_the_merged_sum_takes_are_stored_before_the_sum_too(fresh, monkeypatch):  # noqa: F811
    """A delta-only refresh, which the merged sum takes in without reading an aggregate, stores it
    before summing the month too (not overlapped: chargeback/workflow/mtd_refresh), and is exact."""
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    new_rows(services, day=31, first=100, count=1)
    events = order_of_store_and_sum(monkeypatch)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert {p["read"] for p in done["partitions"]} == {"since"}
    assert events == [f"stored {LAST}", "sum"]
    named_parts_stored(ctx)
    assert_exact(services, ctx, done["document"])


# (f) the aggregates superseded


def part_blobs(services, partition: str) -> set[str]:
    return {b.name for b in services.account.container(ROLLUPS).list_blobs(
        name_starts_with=f"{MONTH}/parts/{partition}/")}


@pytest.mark.parametrize("failing", [None, "pricing", "second store"])
def test_the_superseded_aggregates_are_deleted_after_the_pricing_or_a_failure(fresh, monkeypatch, failing):  # noqa: F811
    """Two delta-only refreshes of the first and last partitions: the first supersedes their bases (kept:
    the merged sum names them), the second the first's aggregates, deleted once the month is priced
    (beside the document's write), or, when the pricing or the second partition's store fails, those
    stored before the error is raised; the next refresh is exact."""
    services = fresh()
    ctx = refreshed_month(services, pause=0.0)
    bases = part_blobs(services, FIRST) | part_blobs(services, LAST)
    new_rows(services, day=1, first=100, count=1)
    new_rows(services, day=31, first=200, count=1)
    refresh_to_date_step(ctx, MONTH, AS_OF)
    ((first,), (last,)) = (part_blobs(services, p) - bases for p in (FIRST, LAST))
    document_before = ctx.rollups.month_to_date(MONTH)
    new_rows(services, day=1, first=300, count=1)
    new_rows(services, day=31, first=400, count=1)
    events: list[str] = []
    delete, store_part, to_date_document = RollupStore.delete, RollupStore.store_part, mtd_refresh.to_date_document

    def deleting(self, name):
        events.append(f"deleted {name}")
        delete(self, name)

    def storing(self, part):
        if failing == "second store" and part.row["RowKey"] == LAST:
            raise Crash
        return store_part(self, part)

    def pricing(*args, **kwargs):
        events.append("priced")
        if failing == "pricing":
            raise Crash
        return to_date_document(*args, **kwargs)

    monkeypatch.setattr(RollupStore, "delete", deleting)
    monkeypatch.setattr(RollupStore, "store_part", storing)
    monkeypatch.setattr(mtd_refresh, "to_date_document", pricing)
    if failing:
        with pytest.raises(Crash):
            refresh_to_date_step(ctx, MONTH, AS_OF)
        assert ctx.rollups.month_to_date(MONTH) == document_before
    else:
        refresh_to_date_step(ctx, MONTH, AS_OF)
    assert events == (["priced"] if failing != "second store" else []) + [
        f"deleted {first}", *([f"deleted {last}"] if failing != "second store" else [])]
    assert first not in part_blobs(services, FIRST)
    assert (last in part_blobs(services, LAST)) == (failing == "second store")
    named_parts_stored(ctx)
    for name, original in (("delete", delete), ("store_part", store_part)):
        monkeypatch.setattr(RollupStore, name, original)
    monkeypatch.setattr(mtd_refresh, "to_date_document", to_date_document)
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    assert_exact(services, ctx, done["document"])
