"""Durable instance state in Table Storage (real Azurite), and a host resumed from it after a crash."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.data.tables import TableClient
from azure.durable_functions.models.history import HistoryEventType as Ev

from devhost.durable import DurableHost, HostAborted, InstanceRecord, TableInstanceStore
from tests.fixtures import durable_sample_app as sample

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def probe():
    sample.PROBE.reset()
    return sample.PROBE


@pytest.fixture
def table_name(storage):
    return storage.prefix + "Durable"


def a_record(instance_id: str, execution_id: str, events: int, payload_chars: int) -> InstanceRecord:
    at = datetime(2026, 2, 1, 6, 30, tzinfo=UTC)
    history = [{"EventType": 4, "EventId": i, "IsPlayed": False, "Timestamp": "2026-02-01T06:30:00.000000Z",
                "Name": "render_invoice", "Version": "", "Input": f'"{i:04d}' + "x" * payload_chars + '"'}
               for i in range(events)]
    return InstanceRecord(instance_id, "monthly_invoicing", execution_id, "Running", '"2026-01"', at, at,
                          custom_status_json='{"note": "' + "é" * 40_000 + '"}', history=history)


def history_rows(connection_string, table_name, instance_id):
    with TableClient.from_connection_string(connection_string, table_name) as table:
        rows = table.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id})
        return sorted(r["RowKey"] for r in rows if r["RowKey"] != "status")


def test_a_large_history_and_status_round_trip_through_chunks(storage, table_name):
    store = TableInstanceStore(storage.connection_string, table_name)
    record = a_record("invoices-2026-01", "exec1", events=12, payload_chars=9_000)  # ~110K chars of history
    store.save(record)

    loaded = TableInstanceStore(storage.connection_string, table_name).load("invoices-2026-01")

    assert loaded == record
    assert len(history_rows(storage.connection_string, table_name, "invoices-2026-01")) == 4


def test_appending_keeps_old_chunks_and_a_restart_drops_them(storage, table_name):
    store = TableInstanceStore(storage.connection_string, table_name)
    record = a_record("invoices-2026-02", "first", events=4, payload_chars=20_000)
    store.save(record)
    record.history.append({"EventType": 13, "EventId": -1, "IsPlayed": False,
                           "Timestamp": "2026-02-01T06:31:00.000000Z"})
    record.runtime_status = "Completed"
    store.save(record)
    reader = TableInstanceStore(storage.connection_string, table_name)
    assert reader.load("invoices-2026-02").history == record.history

    restarted = a_record("invoices-2026-02", "second", events=1, payload_chars=10)
    reader.save(restarted)

    rows = history_rows(storage.connection_string, table_name, "invoices-2026-02")
    assert rows == ["history-second-00000"]
    assert store.load("invoices-2026-02").history == restarted.history


def test_listing_instances_leaves_their_histories_out(storage, table_name):
    store = TableInstanceStore(storage.connection_string, table_name)
    store.save(a_record("run-a", "e1", events=2, payload_chars=10))
    store.save(a_record("run-b", "e1", events=2, payload_chars=10))

    listed = store.list_records()
    assert sorted(r.instance_id for r in listed) == ["run-a", "run-b"]
    assert {len(r.history) for r in listed} == {0} and {r.runtime_status for r in listed} == {"Running"}
    assert len(store.load("run-a").history) == 2


def test_a_host_killed_mid_fan_out_is_finished_by_a_new_host_over_the_same_table(storage, table_name, probe):
    probe.reset(crash_after=3)
    first = DurableHost(sample.app, TableInstanceStore(storage.connection_string, table_name), max_workers=1)
    instance = first.start_new(sample.FAN_OUT, "invoices-2026-03", {"values": [1, 2, 3, 4, 5, 6]})
    with pytest.raises(HostAborted):
        first.run_until_idle(instance)

    stored = TableInstanceStore(storage.connection_string, table_name).load(instance)
    assert stored.runtime_status == "Running"
    assert stored.custom_status_json == '{"stage": "fan-out", "scheduled": 6}'
    assert sorted(e["TaskScheduledId"] for e in stored.history if e["EventType"] == Ev.TASK_COMPLETED) == [0, 1, 2]

    with DurableHost(sample.app, TableInstanceStore(storage.connection_string, table_name)) as second:
        assert second.resume_all() == [instance]
        status = second.get_status(instance)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"squares": [1, 4, 9, 16, 25, 36], "total": 91}
    assert status["customStatus"] == {"stage": "done", "total": 91}
    assert sorted(value for _, value in probe.calls) == [1, 2, 3, 4, 5, 6]  # nothing ran twice


def test_retries_and_their_timers_run_against_the_table_store(storage, table_name):
    store = TableInstanceStore(storage.connection_string, table_name)
    with DurableHost(sample.app, store, retry_delay_scale=0.001) as host:
        retried = host.start_new(sample.RETRYING, None, {"key": "t", "failures": 1, "max_attempts": 2})
        assert host.run_until_idle(retried)["output"] == "t succeeded on attempt 2"
    fired = [e for e in store.load(retried).history if e["EventType"] == Ev.TIMER_FIRED]
    assert len(fired) == 1
