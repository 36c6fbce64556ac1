"""Usage rows by meter against Azurite: every meter round-trips (counts past Int32 included), and rows
written by the first release (text token columns) still read back, as text meters."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from azure.data.tables import TableServiceClient

from chargeback.settings import Settings
from chargeback.storage.account import StorageAccount
from chargeback.storage.usage_table import USAGE_TABLE, UsageStore
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.reading import aggregate_stored_month
from chargeback.usage.record import UsageRecord

AT = datetime(2026, 10, 5, 9, 30, 1, 250000, tzinfo=UTC)


def store_for(storage) -> UsageStore:
    settings = Settings.from_env({"CHARGEBACK_STORAGE": storage.connection_string,
                                  "CHARGEBACK_TABLE_PREFIX": storage.prefix})
    return UsageStore(StorageAccount(settings), shards=2)


def test_every_meter_round_trips_exactly_and_counts_past_int32_are_storable(storage):
    big = 2**31 + 7      # Edm.Int32 cannot hold it
    meters = MeterQuantities(input=big, cached_input=2, cache_write_input=3, audio_input=4, cached_audio_input=5,
                             image_input=6, cached_image_input=7, output=2**40, audio_output=9, image_output=10,
                             audio_seconds=Decimal("42.5"), characters=11, reasoning=12)
    record = UsageRecord("req-1", AT, "sub-1", "gpt-4o-audio", meters=meters, model="m", path="/chat/completions")
    usage = store_for(storage)
    assert usage.write([record, UsageRecord("req-2", AT, "sub-1", "whisper", metered=False)]) == 2
    (partition,) = usage.partitions("2026-10")
    back = {r.record_id: r for r in usage.read_partition(partition)}
    assert back["req-1"].meters == meters and back["req-1"].meters.audio_seconds == Decimal("42.5")
    assert back["req-2"].meters == MeterQuantities() and back["req-2"].metered is False
    full = {r.record_id: r for r in usage.read_partition(partition, columns=None)}
    assert full["req-1"].timestamp == AT and full["req-1"].deployment == "gpt-4o-audio"
    [(_, totals)] = [(k, t) for k, t in aggregate_stored_month(usage, "2026-10").groups()
                     if k.deployment == "gpt-4o-audio"]
    assert totals.meters == meters and totals.requests == 1


def test_a_first_release_row_reads_back_as_text_meters(storage):
    usage = store_for(storage)
    usage.write([UsageRecord("seed", AT, "sub-1", "gpt-4o", prompt_tokens=1)])   # creates table + index
    (partition,) = usage.partitions("2026-10")
    old_row = {"PartitionKey": partition, "RowKey": "old-1", "EventTime": AT, "Subscription": "sub-1",
               "Deployment": "gpt-4o", "StatusCode": 200, "Stream": False, "Metered": True, "SchemaVersion": 2,
               "PromptTokens": 1566, "CachedTokens": 1408, "CompletionTokens": 68, "ReasoningTokens": 20}
    service = TableServiceClient.from_connection_string(storage.connection_string)
    service.get_table_client(storage.prefix + USAGE_TABLE).upsert_entity(old_row)
    back = {r.record_id: r for r in usage.read_partition(partition)}
    assert back["old-1"].meters == MeterQuantities(input=158, cached_input=1408, output=68, reasoning=20)
    assert (back["old-1"].prompt_tokens, back["old-1"].cached_tokens, back["old-1"].completion_tokens,
            back["old-1"].reasoning_tokens) == (1566, 1408, 68, 20)
    assert back["seed"].meters == MeterQuantities(input=1)
