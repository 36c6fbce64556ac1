"""Ingest through the real trigger function into a real Azurite."""
from __future__ import annotations

import json
import threading

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from chargeback.errors import StorageUnavailable
from chargeback.settings import Settings
from chargeback.storage.account import StorageAccount
from chargeback.wiring import Services, reset_services
from devhost.azurite import Azurite, Ports
from devhost.eventhub import batches
from devhost.functions import user_function
from devhost.ingest_runner import ingest_lines
from tests.conftest import ROOT


def v2_event(i: int, subscription: str = "sub-a", **extra) -> str:
    doc = {"schemaVersion": 2, "requestId": f"req-{i:05d}", "timestamp": "2026-10-03T14:05:09.123Z",
           "subscriptionId": subscription, "deploymentId": "gpt-4o", "model": "gpt-4o-2024-08-06",
           "usage": {"prompt_tokens": 100 + i, "completion_tokens": 10}}
    doc.update(extra)
    return json.dumps(doc)


def all_rows(connection_string: str, prefix: str) -> dict[str, list[dict]]:
    service = TableServiceClient.from_connection_string(connection_string)
    return {t.name: list(service.get_table_client(t.name).list_entities())
            for t in service.list_tables() if t.name.startswith(prefix)}


def test_redelivering_a_batch_leaves_the_table_unchanged(app_services, storage):
    lines = [v2_event(i, subscription=f"sub-{i % 3}") for i in range(250)]
    first = ingest_lines(lines, batch_size=100)
    before = all_rows(storage.connection_string, storage.prefix)
    again = ingest_lines(lines, batch_size=100)
    after = all_rows(storage.connection_string, storage.prefix)
    usage = before[storage.prefix + "UsageRecords"]
    assert first.stored == again.stored == 250 and len(usage) == 250

    def content(rows):  # everything but the service's own timestamps/etags
        return sorted((r["PartitionKey"], r["RowKey"], r.get("PromptTokens"), r.get("Subscription")) for r in rows)
    assert {t: content(r) for t, r in before.items()} == {t: content(r) for t, r in after.items()}


def test_duplicate_inside_one_batch_is_stored_once(app_services):
    result = ingest_lines([v2_event(1), v2_event(1), v2_event(2)])
    assert result.received == 3 and app_services.usage.count("2026-10") == 2


def test_mixed_batch_stores_good_events_and_dead_letters_the_rest(app_services):
    lines = [v2_event(1), "{not json", v2_event(2, usage={"prompt_tokens": -1}), v2_event(3),
             v2_event(4, timestamp="next tuesday"), json.dumps({"schemaVersion": 9})]
    result = ingest_lines(lines, batch_size=10)
    assert (result.received, result.stored, result.dead_lettered) == (6, 2, 4)
    assert app_services.usage.count("2026-10") == 2
    reasons = sorted(d.reason for d in app_services.dead_letters.list())
    assert len(reasons) == 4
    assert any("not JSON" in r for r in reasons) and any("unparseable timestamp" in r for r in reasons)
    assert any("prompt_tokens must be a non-negative integer" in r for r in reasons)
    assert any("unknown schemaVersion 9" in r for r in reasons)


def test_records_round_trip_with_millisecond_timestamps(app_services):
    ingest_lines([v2_event(7, timestamp="2026-10-31T23:59:59.999Z",
                           usage={"prompt_tokens": 1566, "completion_tokens": 12,
                                  "prompt_tokens_details": {"cached_tokens": 1408}})])
    (partition,) = app_services.usage.partitions("2026-10")
    (record,) = list(app_services.usage.read_partition(partition))
    assert record.timestamp.isoformat() == "2026-10-31T23:59:59.999000+00:00"
    assert (record.prompt_tokens, record.cached_tokens, record.completion_tokens) == (1566, 1408, 12)


def test_a_v1_raw_key_is_stored_nowhere(app_services, storage):
    raw_key = "5e1f0c2b9d8a47f6b3e2a1c0d9f8e7b6"
    good = json.dumps({"timestamp": "10/7/2026 3:15:00 PM", "appSubscriptionKey": raw_key,
                       "promptTokens": "10", "completionTokens": "5", "totalTokens": "15"})
    bad = good.replace("10/7/2026", "31/10/2026")
    huge = json.dumps({"appSubscriptionKey": raw_key, "timestamp": "nope", "pad": "x" * 40_000})
    result = ingest_lines([good, bad, huge])
    assert (result.stored, result.dead_lettered) == (1, 2)
    dump = json.dumps(all_rows(storage.connection_string, storage.prefix), default=str)
    blobs = BlobServiceClient.from_connection_string(storage.connection_string)
    for container in blobs.list_containers(name_starts_with=storage.prefix.lower()):
        client = blobs.get_container_client(container.name)
        for blob in client.list_blobs():
            dump += client.download_blob(blob.name).readall().decode("utf-8", "replace")
    assert "sha256:" in dump and "x" * 1000 in dump  # the large body went to a blob, scrubbed
    assert raw_key not in dump


def test_dead_letters_can_be_replayed_after_the_cause_is_fixed(app_services):
    from chargeback.workflow.ingesting import replay_dead_letters
    ingest_lines([v2_event(1, subscriptionId=None)])  # no subscription: set aside
    (letter,) = list(app_services.dead_letters.list())
    assert "no subscription" in letter.reason
    assert replay_dead_letters(app_services.dead_letters, app_services.usage).still_invalid == 1
    assert app_services.usage.count("2026-10") == 0


def test_storage_outage_mid_batch_raises_and_the_retry_stores_every_record_once(tmp_path, monkeypatch):
    emulator = Azurite(ROOT, ports=Ports.free(), location=tmp_path / "azurite").start()
    try:
        monkeypatch.setenv("CHARGEBACK_STORAGE", emulator.connection_string)
        settings = Settings.from_env()
        responses = 0
        lock = threading.Lock()
        stopped = threading.Event()

        def stop_after_some_writes(response):
            nonlocal responses
            with lock:
                responses += 1
                if responses == 6:  # tables created, a few transactions committed, then the outage
                    emulator.stop()
                    stopped.set()

        outage = Services(settings)
        outage.account = StorageAccount(settings, raw_response_hook=stop_after_some_writes)
        reset_services(outage)
        lines = [v2_event(i, subscription=f"sub-{i % 10}") for i in range(800)]
        (batch,) = list(batches(lines, batch_size=1000, partitions=1))
        trigger = user_function("ingest_usage")
        with pytest.raises(StorageUnavailable):
            trigger(batch.events)

        assert stopped.wait(30)  # the outage is over only once that process is gone
        emulator.start()  # same ports, same data directory: what was written before the outage is there
        partial = Services(settings).usage.count("2026-10")
        assert 0 < partial < 800
        reset_services(Services(settings))
        trigger(batch.events)  # the host's retry: the same batch again
        assert Services(settings).usage.count("2026-10") == 800
    finally:
        reset_services()
        emulator.stop()


def test_subscription_with_characters_keys_refuse_is_stored_under_a_hashed_partition(app_services):
    hostile = "/subscriptions/x/sub#1?\u0001"
    result = ingest_lines([v2_event(1, subscriptionId=hostile)])
    assert result.stored == 1
    (partition,) = app_services.usage.partitions("2026-10")
    (record,) = list(app_services.usage.read_partition(partition))
    assert record.subscription == hostile.strip() and "/" not in partition and "#" not in partition


def test_replay_stores_what_parses_today_and_removes_it(app_services):
    """As after a parser fix: a letter set aside by an older version parses now."""
    from chargeback.usage.events import DeadLetter
    from chargeback.workflow.ingesting import replay_dead_letters
    fixed = DeadLetter("reason from an older parser", v2_event(42), "utf-8", "2", 77, "770", None)
    broken = DeadLetter("body is not JSON", "{nope", "utf-8", "2", 78, "780", None)
    app_services.dead_letters.add([fixed, broken])
    result = replay_dead_letters(app_services.dead_letters, app_services.usage)
    assert (result.replayed, result.still_invalid) == (1, 1)
    assert [d.reason for d in app_services.dead_letters.list()] == ["body is not JSON"]
    (partition,) = app_services.usage.partitions("2026-10")
    assert [r.record_id for r in app_services.usage.read_partition(partition)] == ["req-00042"]
    assert replay_dead_letters(app_services.dead_letters, app_services.usage).replayed == 0  # nothing twice
