"""devhost.bench_mtd: the months alike that share each wait are whole and apart, and every pair is counted."""
from __future__ import annotations

from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.events import RawEvent, parse_batch
from chargeback.usage.reading import aggregate_stored_month
from chargeback.wiring import configured
from devhost.bench_mtd import MONTH, bench_mtd_refresh
from devhost.generate.month import generate_month

EVENTS = 600


def test_each_copy_holds_the_whole_month_in_tables_of_its_own_and_each_pair_is_counted(storage):
    figures = bench_mtd_refresh(storage.connection_string, EVENTS, repeats=2, settle=0, copies=3,
                                prefix=storage.prefix)
    assert figures["mtd_pairs"] == 6   # 3 copies x 2 repeats
    assert figures["mtd_new_events"] == EVENTS // 100
    assert figures["mtd_partitions_read"] >= 1 and figures["mtd_rows_read"] >= EVENTS // 100
    assert figures["mtd_refresh_vs_full_ratio_min"] <= figures["mtd_refresh_vs_full_ratio"] \
        <= figures["mtd_refresh_vs_full_ratio_max"]
    # The same month the generator makes (its lines parsed in memory), stored whole in each copy's tables.
    lines = generate_month(MONTH, departments=8, events=EVENTS, bad_events=0).lines
    records, dead = parse_batch([RawEvent(line.encode(), "0", n) for n, line in enumerate(lines)])
    assert not dead
    expected = aggregate_month(MONTH, records)
    for name in (storage.prefix, f"{storage.prefix}1", f"{storage.prefix}2"):
        with configured(storage_connection=storage.connection_string, table_prefix=name) as s:
            assert aggregate_stored_month(s.usage, MONTH) == expected, name
