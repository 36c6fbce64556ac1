"""Against Azurite: the month-to-date reader's own row decoding (plain JSON, chargeback/storage/usage_delta)
aggregates exactly what the SDK's does (storage.usage_table.UsageStore.read_partition), for every kind of
row the table holds; and what an aggregate remembers of its rows survives its JSON."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chargeback.storage.usage_delta import Counted, PartitionReader, digest
from chargeback.storage.usage_table import partition_key
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.reading import aggregate_partition
from chargeback.usage.record import UsageRecord

BIG = 3 * 2**31 + 7   # an Edm.Int64 count (a month of one deployment can pass 2**31)


def records() -> list[UsageRecord]:
    at = datetime(2026, 10, 31, 20, 15, 1, 123456, tzinfo=UTC)
    return [
        UsageRecord("big", at, "sub-a", "gpt-4o", meters=MeterQuantities(input=BIG, output=5, reasoning=2)),
        UsageRecord("audio", at, "sub-a", "gpt-4o-audio", model="gpt-4o-audio-preview",
                    meters=MeterQuantities(audio_input=120, audio_seconds=Decimal("12.345"), characters=77)),
        UsageRecord("who", at, "sub-b", "gpt-4o", meters=MeterQuantities(input=10, cached_input=4),
                    end_user="hmac:ab12", tags=("env=x", "team=a"), stream=True),
        UsageRecord("spill", at, "sub-b", "gpt-4o-ptu", meters=MeterQuantities(input=3), served_deployment="gpt-4o"),
        UsageRecord("gateway", at, "sub-c", "gpt-4o", meters=MeterQuantities(input=9), schema_version=3),
        UsageRecord("unmetered", at, "sub-c", "gpt-4o", metered=False, status_code=500),
        UsageRecord("outside", datetime(2026, 11, 1, 0, 0, tzinfo=UTC), "sub-c", "gpt-4o",
                    meters=MeterQuantities(input=1)),
    ]


def stored_rows(usage) -> str:
    """``records()`` stored, and a row from before meters (text token columns) beside them: their partition."""
    usage.write(records())
    partition = partition_key(records()[0], usage.shards)
    usage.table.upsert_entity({
        "PartitionKey": partition, "RowKey": "first-release", "EventTime": datetime(2026, 10, 31, 21, tzinfo=UTC),
        "Subscription": "sub-a", "Deployment": "gpt-4o", "PromptTokens": "1000", "CachedTokens": "200",
        "CompletionTokens": "30", "ReasoningTokens": "0"})
    return partition


def test_the_readers_rows_aggregate_as_the_sdks(app_services):
    usage = app_services.usage
    partition = stored_rows(usage)
    read = PartitionReader(app_services.account).read("2026-10", partition)
    sdk = aggregate_partition(usage, "2026-10", partition)
    assert read.usage == sdk and read.delta is None and read.rows == 7
    assert read.usage.outside_month == 0   # "outside" is stamped in November: another partition
    groups = list(read.usage.groups())
    assert sum((t.meters.audio_seconds for _key, t in groups), Decimal(0)) == Decimal("12.345")
    assert sum(t.meters.input for _key, t in groups) == BIG + 10 + 3 + 9 + (1000 - 200)   # input excludes cached tokens
    assert read.counted.keys == {digest(k) for k in ("big", "audio", "who", "spill", "gateway", "unmetered",
                                                     "first-release")}
    assert read.counted.since is not None and read.counted.latest is not None
    assert set(read.counted.recent) == read.counted.keys   # all written seconds ago: inside the margin


def test_what_an_aggregate_counted_survives_its_json():
    counted = Counted({digest("a"), digest("b")}, datetime(2026, 10, 31, 23, tzinfo=UTC),
                      datetime(2026, 10, 31, 22, 58, tzinfo=UTC), {digest("b"): 'W/"datetime\'2026-10-31T23%3A00Z\'"'})
    assert Counted.from_dict(counted.to_dict()) == counted
    assert Counted.from_dict(Counted().to_dict()) == Counted()
