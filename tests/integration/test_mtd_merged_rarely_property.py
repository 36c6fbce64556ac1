"""Against Azurite, the property behind a merged rollup rewritten rarely (chargeback/storage/rollup_store):
whatever arrives (new rows, redeliveries, rows a read does not see) and whatever happens between the writes
(refreshes with no pricing between, a refresh listed before others ran, a stale ``~merged`` row, a crash
after the merged blob and before its row, deltas too big for a row, a lost or an older merged blob), the
month's usage after every pricing equals a full read of the stored month and prices the same; and while
nothing but arrivals and refreshes happened, every part blob stored is one the rows or the merged blob name."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from chargeback.storage import rollup_parts
from chargeback.storage.rollup_store import MERGED_ROW, ROLLUP_TABLE, ROLLUPS, RollupStore, merged_blob
from chargeback.usage.reading import aggregate_stored_month
from chargeback.workflow.month_to_date import MonthToDateContext, changed_partitions, price_to_date_step

from .test_mtd_delta_property import examples, rows_of, unseen
from .test_mtd_incremental_property import AS_OF, MONTH, FullRead, fresh, record, records  # noqa: F401 (fixture)
from .test_mtd_merged_rarely import month_of, named, part_blobs, refresh

# A few partitions, so that refreshes come back to one: day 29 and 30 share one (of 16 slices).
few = st.builds(record, n=st.integers(0, 40), day=st.sampled_from([2, 16, 29, 30]), hour=st.integers(0, 23),
                who=st.integers(0, 2), tokens=st.integers(0, 3_000_000), variant=st.integers(0, 2))
ANOMALIES = {"late", "stale_row", "crash", "lose_merged", "old_merged"}   # may leave an aggregate unnamed
ARRIVALS = [
    st.tuples(st.just("write"), st.lists(few, min_size=1, max_size=4)),
    st.tuples(st.just("write"), st.lists(records, min_size=1, max_size=4)),
    st.tuples(st.just("again"), st.integers(0, 10)),              # redeliver what an earlier write sent
    st.tuples(st.just("refresh"), st.none()),                     # no pricing after it
    st.tuples(st.just("price"), st.none()),                       # refresh, then price and compare
    st.tuples(st.just("missed"), st.lists(few, min_size=1, max_size=3)),   # written during a read, unseen
    st.tuples(st.just("tiny"), st.booleans()),                    # deltas do not fit a row (or fit again)
]
arrivals = st.lists(st.one_of(*ARRIVALS), min_size=1, max_size=12)
steps = st.lists(st.one_of(
    *ARRIVALS,
    st.tuples(st.just("hold"), st.none()),                        # list now ...
    st.tuples(st.just("late"), st.none()),                        # ... refresh from that listing later
    st.tuples(st.just("stale_row"), st.none()),                   # an earlier ~merged row written back
    st.tuples(st.just("crash"), st.none()),                       # the next rewrite stops before its row
    st.tuples(st.just("lose_merged"), st.none()),
    st.tuples(st.just("old_merged"), st.none()),
), min_size=1, max_size=12)


class Crash(Exception):
    pass


class Plan:
    """Plays the steps against one store; ``check`` after every pricing."""

    def __init__(self, services, monkeypatch):
        self.services, self.monkeypatch = services, monkeypatch
        self.ctx = MonthToDateContext(usage=services.usage, rollups=RollupStore(services.account),
                                      config=services.config)
        self.oracle = MonthToDateContext(usage=services.usage, rollups=FullRead(services), config=services.config)
        self.table = services.account.table(ROLLUP_TABLE)
        self.sent: list[list] = []
        self.held: list[list[dict]] = []
        self.rows_merged: list[dict] = []
        self.blobs: list[bytes] = []
        self.crashing = False
        self.happened: set[str] = set()
        put_bases = RollupStore.put_bases

        def maybe_crash(store, month, digests):
            if self.crashing:
                self.crashing = False
                raise Crash
            put_bases(store, month, digests)

        monkeypatch.setattr(RollupStore, "put_bases", maybe_crash)

    def write(self, batch):
        """Each record under an id of its own (``again`` redelivers): most reads then add rows."""
        batch = [replace(r, record_id=f"w{len(self.sent)}-{i}") for i, r in enumerate(batch)]
        self.services.usage.write(batch)
        self.sent.append(batch)

    def again(self, n):
        if self.sent:
            self.services.usage.write(self.sent[n % len(self.sent)])

    def refresh(self, _arg):
        refresh(self.ctx)

    def missed(self, batch):
        stored = rows_of([r for sent in self.sent for r in sent])
        listed = changed_partitions(self.ctx, MONTH)
        self.write(batch)
        with unseen(rows_of(batch) - stored):
            refresh(self.ctx, listed)

    def hold(self, _arg):
        self.held.append(changed_partitions(self.ctx, MONTH))

    def late(self, _arg):
        if self.held:
            refresh(self.ctx, self.held.pop(0))

    def stale_row(self, _arg):
        if self.rows_merged:
            self.table.upsert_entity(self.rows_merged[0])

    def crash(self, _arg):
        self.crashing = True

    def tiny(self, on):
        self.monkeypatch.setattr(rollup_parts, "DELTA_BYTES", 40 if on else 60_000)

    def lose_merged(self, _arg):
        self.ctx.rollups.delete(merged_blob(MONTH))

    def old_merged(self, _arg):
        if self.blobs:
            self.ctx.rollups.documents.put(ROLLUPS, merged_blob(MONTH), self.blobs[0], "application/zlib")

    def price(self, _arg):
        refresh(self.ctx)
        try:
            usage = self.ctx.rollups.month_usage(MONTH)
        except Crash:
            return   # the merged blob written, its row not: the next pricing must still be exact
        assert usage == aggregate_stored_month(self.services.usage, MONTH)
        assert price_to_date_step(self.ctx, MONTH, AS_OF) == price_to_date_step(self.oracle, MONTH, AS_OF)
        if not self.happened & ANOMALIES:
            assert part_blobs(self.ctx) == named(self.ctx)
        self.blobs.append(self.ctx.rollups.documents.get(ROLLUPS, merged_blob(MONTH)))
        self.rows_merged.append(self.table.get_entity(MONTH, MERGED_ROW))

    def play(self, plan):
        """After a month of some 40 line groups, priced: small arrivals then stay deltas on the merged sum
        for a few pricings (past a quarter of its groups, it is rewritten)."""
        month_of(self.services)
        self.price(None)
        for action, arg in [*plan, ("price", None)]:
            self.happened.add(action)
            getattr(self, action)(arg)
        self.crashing = False
        refresh(self.ctx)
        assert changed_partitions(self.ctx, MONTH) == []
        assert self.ctx.rollups.month_usage(MONTH) == aggregate_stored_month(self.services.usage, MONTH)


@examples(12)
@given(plan=steps)
def test_any_arrivals_refreshes_and_faults_price_as_a_full_read(fresh, plan, monkeypatch):  # noqa: F811
    with monkeypatch.context() as patched:
        Plan(fresh(), patched).play(plan)


@examples(10)
@given(plan=arrivals)
def test_arrivals_and_refreshes_leave_only_named_aggregates(fresh, plan, monkeypatch):  # noqa: F811
    """No fault: after every pricing, every part blob is one a row or the merged blob names (``play``)."""
    with monkeypatch.context() as patched:
        Plan(fresh(), patched).play(plan)
