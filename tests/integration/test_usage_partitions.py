"""Usage partitions against Azurite: one key per time slice of the month (a batch of many subscriptions
fills full transactions), redelivery lands on the same rows, rows of the first key scheme
(``{month}~{subscription}~{shard}``) still read and are counted once, and a $batch POST is retried after
a connection reset (a real local TCP proxy that resets the first $batch)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chargeback.settings import Settings
from chargeback.storage.account import StorageAccount
from chargeback.storage.usage_table import UsageStore, partition_key, record_to_entity, transactions
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.reading import aggregate_stored_month
from devhost.loopback_proxy import LoopbackProxy
from tests.fixtures.legacy_usage import store_as_first_release

AT = datetime(2026, 10, 5, 9, 0, 0, tzinfo=UTC)


def store_for(connection: str, prefix: str) -> UsageStore:
    settings = Settings.from_env({"CHARGEBACK_STORAGE": connection, "CHARGEBACK_TABLE_PREFIX": prefix,
                                  "CHARGEBACK_STORAGE_RETRIES": "3"})
    return UsageStore(StorageAccount(settings), shards=16)


def records(n: int, subscriptions: int = 10, first: int = 0):
    from chargeback.usage.record import UsageRecord
    return [UsageRecord(f"req-{i:05d}", AT + timedelta(seconds=i), f"sub-{i % subscriptions}", "gpt-4o",
                        meters=MeterQuantities(input=1000 + i, output=7)) for i in range(first, first + n)]


def test_a_batch_of_many_subscriptions_fills_full_transactions_and_redelivery_rewrites_the_same_rows(storage):
    batch = records(250)
    # 2026-10-05 09:00 is hour 105 of 744: slice 105 * 16 // 744 = 2, whatever the subscription.
    assert {partition_key(r, 16) for r in batch} == {"2026-10~02"}
    assert [len(c) for c in transactions(record_to_entity(r, 16) for r in batch)] == [100, 100, 50]
    usage = store_for(storage.connection_string, storage.prefix)
    assert usage.write(batch) == 250
    assert usage.write(batch[:120]) == 120   # redelivered
    assert usage.partitions("2026-10") == ["2026-10~02"]
    assert usage.count("2026-10") == 250
    totals = [t for _, t in aggregate_stored_month(usage, "2026-10").groups()]
    assert sum(t.requests for t in totals) == 250
    assert sum(t.meters.input for t in totals) == 250 * 1000 + sum(range(250))


def test_rows_of_the_first_key_scheme_still_read_and_a_record_in_both_schemes_counts_once(storage):
    usage = store_for(storage.connection_string, storage.prefix)
    legacy = records(40, subscriptions=2)
    assert store_as_first_release(usage, legacy) == 40
    # After the upgrade, 15 of them are redelivered (same record ids) plus 5 new records.
    assert usage.write(legacy[:15] + records(5, first=40)) == 20
    assert usage.partitions("2026-10") == ["2026-10~02", "2026-10~sub-0~00", "2026-10~sub-1~00"]
    read = [r.record_id for p in usage.partitions("2026-10") for r in usage.read_partition(p)]
    assert sorted(read) == [f"req-{i:05d}" for i in range(45)]   # each record once
    totals = [t for _, t in aggregate_stored_month(usage, "2026-10").groups()]
    assert sum(t.requests for t in totals) == 45
    assert sum(t.meters.input for t in totals) == 45 * 1000 + sum(range(45))


def test_a_batch_post_is_retried_after_a_connection_reset(storage, azurite):
    table_port = azurite.ports.table
    with LoopbackProxy(table_port, reset_batches=1) as proxy:
        connection = storage.connection_string.replace(f":{table_port}/", f":{proxy.port}/")
        usage = store_for(connection, storage.prefix)
        assert usage.write(records(30)) == 30
        assert proxy.resets_done == 1   # the reset happened, and the write still succeeded
    direct = store_for(storage.connection_string, storage.prefix)
    assert direct.count("2026-10") == 30
