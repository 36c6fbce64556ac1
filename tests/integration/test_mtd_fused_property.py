"""Against Azurite, the hourly refresh in one step (chargeback/workflow/mtd_refresh.refresh_to_date_step)
against the three steps it fuses (changed_partitions, refresh_partition_step per partition,
price_to_date_step): the same plan of arrivals (one partition, two, late rows in old partitions, rows
redelivered or replaced with other usage, so read whole, many partitions at once, more than ``FEW``) and
faults (the merged blob lost, the deltas dropped from the rollup rows, a ``Since`` on a row moved) played
on two stores of their own, A refreshed as the orchestrator does (the one step, the three when it lists
``changed``: devhost/bench_mtd._refresh), B always with the three. After every refresh both stored
month-to-date documents are the same and each store's month equals a full read of its usage table."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chargeback.storage import rollup_parts, usage_delta
from chargeback.storage.rollup_store import MERGED_ROW, ROLLUP_TABLE, RollupStore, merged_blob
from chargeback.usage.reading import aggregate_stored_month
from chargeback.workflow.month_to_date import (
    MonthToDateContext,
    changed_partitions,
    price_to_date_step,
    refresh_partition_step,
)
from chargeback.workflow.mtd_refresh import refresh_to_date_step

from .test_mtd_delta_property import examples, rows_of, unseen
from .test_mtd_incremental_property import AS_OF, MONTH, fresh, record  # noqa: F401 (fixture)
from .test_mtd_merged_rarely import named, part_blobs

ANOMALIES = {"lose_merged", "drop_deltas", "crash", "stale_row"}   # may leave an aggregate nothing names


def args(days):
    """A record's arguments but its id (n, day, hour, who, tokens, variant), on one of ``days``."""
    return st.tuples(st.integers(0, 40), days, st.integers(0, 23), st.integers(0, 2),
                     st.integers(0, 3_000_000), st.just(0))


ONE = st.just(31)                  # the month's last slice (hours 698-743)
TWO = st.sampled_from([1, 31])     # its first and its last
OLD = st.integers(3, 12)           # slices refreshed long ago, or never (new partitions)
steps = st.lists(st.one_of(
    st.tuples(st.just("write"), st.lists(args(ONE), min_size=1, max_size=5)),
    st.tuples(st.just("write"), st.lists(args(TWO), min_size=1, max_size=5)),
    st.tuples(st.just("write"), st.lists(args(OLD), min_size=1, max_size=3)),    # late rows
    st.tuples(st.just("spread"), st.lists(st.integers(1, 31), min_size=10, max_size=12, unique=True)),
    st.tuples(st.just("again"), st.integers(0, 10)),      # an earlier batch redelivered as it was
    st.tuples(st.just("replace"), st.integers(0, 10)),    # ... or with other usage
    st.tuples(st.just("refresh"), st.none()),
    st.tuples(st.just("racing"), st.lists(args(TWO), min_size=1, max_size=3)),   # listed, written, read
    st.tuples(st.just("missed"), st.lists(args(TWO), min_size=1, max_size=3)),   # ... and not all seen
    st.tuples(st.just("lose_merged"), st.none()),
    st.tuples(st.just("drop_deltas"), st.none()),
    st.tuples(st.just("move_since"), st.sampled_from([-3600, -5, 5, 3600])),
    st.tuples(st.just("pause"), st.none()),
    st.tuples(st.just("tiny"), st.booleans()),            # deltas do not fit a row (or fit again)
    st.tuples(st.just("crash"), st.none()),               # the next merged rewrite stops before its row
    st.tuples(st.just("stale_row"), st.none()),           # an earlier ~merged row written back
), min_size=1, max_size=7)


def context(services) -> MonthToDateContext:
    return MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account), config=services.config)


def fused(ctx: MonthToDateContext) -> str:
    """As devhost/bench_mtd._refresh (and the orchestrator): the one step, or the three if it lists."""
    done = refresh_to_date_step(ctx, MONTH, AS_OF)
    if "changed" not in done:
        return "one step"
    for part in done["changed"]:
        refresh_partition_step(ctx, MONTH, **part)
    price_to_date_step(ctx, MONTH, AS_OF)
    return "fanned out"


class Crash(Exception):
    pass


def retried(refresh, ctx: MonthToDateContext):
    """``refresh(ctx)``, and once more if it crashed (``crash``): the next refresh must be exact."""
    try:
        return refresh(ctx)
    except Crash:
        return refresh(ctx)


def three_steps(ctx: MonthToDateContext) -> None:
    for part in changed_partitions(ctx, MONTH):
        refresh_partition_step(ctx, MONTH, **part)
    price_to_date_step(ctx, MONTH, AS_OF)


def without_as_of(document: dict | None) -> dict | None:
    return None if document is None else {k: v for k, v in document.items() if k != "as_of"}


class Twins:
    """One plan played on two stores: A refreshed by ``fused``, B by ``three_steps``."""

    def __init__(self, a, b, pause: float, patch):
        self.patch = patch
        self.services = (a, b)
        self.ctx = (context(a), context(b))
        self.pause_for = pause
        self.sent: list[list[tuple]] = []   # each batch as (id, arguments)
        self.paths: list[str] = []
        self.happened: set[str] = set()
        self.crashing: set[int] = set()   # id() of the stores whose next put_bases fails
        self.rows_merged: list[list[dict]] = []
        put_bases = RollupStore.put_bases

        def maybe_crash(store, month, digests):
            if id(store) in self.crashing:
                self.crashing.discard(id(store))
                raise Crash
            put_bases(store, month, digests)

        patch.setattr(RollupStore, "put_bases", maybe_crash)

    def _store(self, batch: list[tuple]) -> None:
        records = self._records(batch)
        for services in self.services:
            services.usage.write(records)

    @staticmethod
    def _records(batch: list[tuple]) -> list:
        return [replace(record(*arguments), record_id=key) for key, arguments in batch]

    def write(self, batch) -> None:
        """Each record under an id of its own (``again`` and ``replace`` write one again)."""
        keyed = [(f"w{len(self.sent)}-{i}", arguments) for i, arguments in enumerate(batch)]
        self._store(keyed)
        self.sent.append(keyed)

    def spread(self, days) -> None:
        self.write([(n, day, 12, n % 3, 10_000 * n, 0) for n, day in enumerate(days)])

    def again(self, n) -> None:
        if self.sent:
            self._store(self.sent[n % len(self.sent)])

    def replace(self, n) -> None:
        if self.sent:
            batch = [(key, (*arguments[:5], arguments[5] + 1)) for key, arguments in self.sent[n % len(self.sent)]]
            self._store(batch)
            self.sent[n % len(self.sent)] = batch

    def lose_merged(self, _arg) -> None:
        for ctx in self.ctx:
            ctx.rollups.delete(merged_blob(MONTH))

    def drop_deltas(self, _arg) -> None:
        for services, ctx in zip(self.services, self.ctx, strict=True):
            table = services.account.table(ROLLUP_TABLE)
            for partition in ctx.rollups.parts(MONTH):
                table.upsert_entity({"PartitionKey": MONTH, "RowKey": partition, "Previous": "", "Delta": b""})

    def move_since(self, seconds) -> None:
        """Every rollup row's ``Since`` moved (the aggregate's Counted.since stays): the fetched rows are
        not the ones the aggregate needs, and the read must query again."""
        for services in self.services:
            table = services.account.table(ROLLUP_TABLE)
            for row in table.query_entities("PartitionKey eq @m", parameters={"m": MONTH}, select=["RowKey", "Since"]):
                if row.get("Since"):
                    moved = datetime.fromisoformat(row["Since"]) + timedelta(seconds=seconds)
                    table.upsert_entity({"PartitionKey": MONTH, "RowKey": row["RowKey"], "Since": moved.isoformat()})

    def racing(self, batch) -> None:
        self._during(batch, hide=False)

    def missed(self, batch) -> None:
        self._during(batch, hide=True)

    def _during(self, batch, hide: bool) -> None:
        """A refresh with ``batch`` written once the partition index is listed and before the reads (on A,
        from within the one step: its index listing writes them before it returns); ``hide``: the reads do
        not see them, but the last (stamped after them; a row stored before the read began is always
        seen), as test_mtd_delta_property's ``missed``."""
        keyed = [(f"w{len(self.sent)}-{i}", arguments) for i, arguments in enumerate(batch)]
        stored = rows_of(self._records([row for sent in self.sent for row in sent]))
        records = self._records(keyed)
        first, last = (records[:-1], records[-1:]) if hide and len(records) > 1 else (records, [])
        hidden = (rows_of(first) - rows_of(last) if last else rows_of(first)) if hide else set()

        def write(usage) -> None:
            usage.write(first)
            if last:
                usage.write(last)

        (a, b), (usage_a, usage_b) = self.ctx, (self.services[0].usage, self.services[1].usage)
        listed, done = usage_a.watermarks, []

        def then_write(month):
            marks = listed(month)
            if not done:
                write(usage_a)
                done.append(True)
            return marks

        usage_a.watermarks = then_write
        crashed = False
        try:
            with unseen(hidden - stored):
                self.paths.append(fused(a))
        except Crash:   # retried as a read that began after the rows were stored: it sees them all
            crashed = True
            self.paths.append(fused(a))
        finally:
            del usage_a.watermarks
        changed = changed_partitions(b, MONTH)
        write(usage_b)
        with unseen(hidden - stored):
            for part in changed:
                refresh_partition_step(b, MONTH, **part)
        retried(lambda ctx: price_to_date_step(ctx, MONTH, AS_OF), b)
        self.sent.append(keyed)
        if not crashed:   # else A read more than B; the next refresh compares them
            assert without_as_of(a.rollups.month_to_date(MONTH)) == without_as_of(b.rollups.month_to_date(MONTH))

    def crash(self, _arg) -> None:
        self.crashing = {id(ctx.rollups) for ctx in self.ctx}

    def stale_row(self, _arg) -> None:
        if self.rows_merged:
            for services, row in zip(self.services, self.rows_merged[0], strict=True):
                services.account.table(ROLLUP_TABLE).upsert_entity(row)

    def tiny(self, on: bool) -> None:
        self.patch.setattr(rollup_parts, "DELTA_BYTES", 40 if on else 60_000)

    def pause(self, _arg) -> None:
        time.sleep(self.pause_for)

    def refresh(self, _arg) -> None:
        a, b = self.ctx
        self.paths.append(retried(fused, a))
        retried(three_steps, b)
        for ctx in self.ctx:
            assert changed_partitions(ctx, MONTH) == []
        assert without_as_of(a.rollups.month_to_date(MONTH)) == without_as_of(b.rollups.month_to_date(MONTH))
        assert a.rollups.month_to_date(MONTH) is not None
        for ctx, services in zip(self.ctx, self.services, strict=True):
            assert retried(lambda c: c.rollups.month_usage(MONTH), ctx) == aggregate_stored_month(services.usage,
                                                                                                 MONTH)
        self.rows_merged.append([services.account.table(ROLLUP_TABLE).get_entity(MONTH, MERGED_ROW)
                                 for services in self.services])
        if not self.happened & ANOMALIES:   # every aggregate stored is one a row or the merged blob names
            for ctx in self.ctx:
                assert part_blobs(ctx) == named(ctx)

    def play(self, plan) -> list[str]:
        """After 18 records on days 1, 6, ... 26, refreshed (fanned out: 6 partitions, more than FEW)."""
        self.write([(n, 1 + n % 6 * 5, 9, n % 3, 1_000 + n, 0) for n in range(18)])
        self.refresh(None)
        for action, arg in [*plan, ("refresh", None)]:
            self.happened.add(action)
            getattr(self, action)(arg)
        return self.paths


@examples(10)
@given(plan=steps)
def test_inside_the_margin_the_one_step_prices_as_the_three(fresh, plan, monkeypatch):  # noqa: F811
    with monkeypatch.context() as patch:
        Twins(fresh(), fresh(), 0.0, patch).play(plan)


@examples(4)
@given(plan=steps)
def test_past_the_margin_the_one_step_prices_as_the_three(fresh, plan, monkeypatch):  # noqa: F811
    monkeypatch.setattr(usage_delta, "MARGIN", timedelta(0))
    with monkeypatch.context() as patch:
        Twins(fresh(), fresh(), 2.5, patch).play(plan)


def test_a_fixed_plan_takes_both_paths(fresh, monkeypatch):  # noqa: F811
    """The month's first refresh fans out, one partition's rows go in one step, a spread over many
    partitions fans out again; a redelivery (read whole), a lost merged blob, rows replaced with the deltas
    dropped, a Since moved, rows a read does not see, rows written during a refresh and a delta too big for
    its row go in one step."""
    plan = [("write", [(1, 31, 5, 0, 1_000, 0)]), ("refresh", None),
            ("spread", list(range(1, 31, 2))), ("refresh", None),
            ("again", 1), ("refresh", None),
            ("write", [(2, 1, 5, 1, 2_000, 0), (3, 31, 6, 2, 3_000, 0)]), ("lose_merged", None), ("refresh", None),
            ("replace", 3), ("drop_deltas", None), ("refresh", None),
            ("write", [(4, 31, 7, 0, 4_000, 0)]), ("move_since", 3600), ("refresh", None),
            ("write", [(7, 1, 2, 0, 7_000, 0)]), ("missed", [(5, 1, 4, 0, 5_000, 0), (6, 1, 8, 1, 6_000, 0)]),
            ("racing", [(8, 31, 9, 2, 8_000, 0)]), ("tiny", True), ("write", [(9, 31, 1, 1, 9_000, 0)])]
    assert Twins(fresh(), fresh(), 0.0, monkeypatch).play(plan) == [
        "fanned out", "one step", "fanned out", "one step", "one step", "one step", "one step", "one step",
        "one step", "one step"]


def test_one_step_refreshes_leave_only_named_aggregates(fresh, monkeypatch):  # noqa: F811
    """No fault: three delta refreshes of one partition in one step, then two; after each, every part
    blob stored is one a row or the merged blob names (the aggregates between the base and the current
    one deleted), in A as in B."""
    plan = [("write", [(1, 31, 5, 0, 1_000, 0)]), ("refresh", None), ("write", [(2, 31, 6, 1, 2_000, 0)]),
            ("refresh", None), ("write", [(3, 31, 7, 2, 3_000, 0)]), ("refresh", None),
            ("write", [(4, 1, 5, 0, 4_000, 0), (5, 31, 8, 1, 5_000, 0)]), ("refresh", None),
            ("again", 4)]
    assert Twins(fresh(), fresh(), 0.0, monkeypatch).play(plan) == ["fanned out", *["one step"] * 5]
