"""Issue 17: `chargeback ingest` through the local host's concurrent partitions, against Azurite: every event
stored exactly once, and an interrupted run checkpoints per partition and resumes after the checkpoints."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ServiceRequestError

from devhost import local_stack
from devhost.cli import main
from devhost.eventhub import batches
from devhost.ingest_checkpoints import CHECKPOINT_TABLE
from devhost.ingest_runner import IngestStopped, already_stored, file_checkpoints, ingest_file, ingest_lines

START = datetime(2026, 10, 1, tzinfo=UTC)


def v2_event(i: int) -> str:
    at = START + timedelta(minutes=7 * i)   # ~3,000 events spread over the month: many time slices
    return json.dumps({"schemaVersion": 2, "requestId": f"req-{i:05d}", "timestamp": at.isoformat()[:19] + "Z",
                       "subscriptionId": f"sub-{i % 5}", "deploymentId": "gpt-4o", "model": "gpt-4o",
                       "usage": {"prompt_tokens": 10 + i, "completion_tokens": 1}})


def stored_ids(usage) -> list[str]:
    """Every usage row of October, as stored (one entry per row)."""
    return [e["RowKey"] for p in usage.partitions("2026-10")
            for e in usage.table.query_entities("PartitionKey eq @p", parameters={"p": p}, select=["RowKey"])]


def test_concurrent_partitions_store_every_event_exactly_once(app_services):
    lines = [v2_event(i) for i in range(3000)]
    result = ingest_lines(lines, batch_size=100)
    ids = stored_ids(app_services.usage)
    assert len(ids) == 3000 and set(ids) == {f"req-{i:05d}" for i in range(3000)}
    assert result.received == 3000 and result.stored == 3000 and result.dead_lettered == 0
    assert app_services.usage.count("2026-10") == 3000


def _fail_on(usage, request_id: str) -> None:
    """Storage goes away for the transaction that holds this event (every other one is written)."""
    submit = usage.submit

    def failing(table, rows, **options):
        if any(row["RowKey"] == request_id for row in rows):
            raise ServiceRequestError("injected: connection refused")
        submit(table, rows, **options)
    usage.submit = failing


@pytest.fixture
def events_file(tmp_path):
    path = tmp_path / "month.jsonl"
    path.write_text("".join(v2_event(i) + "\n" for i in range(3000)))
    return path


def test_an_interrupted_ingest_checkpoints_per_partition_and_a_rerun_resumes_after_them(app_services, events_file,
                                                                                         monkeypatch, capsys):
    by_partition = {}
    for batch in batches(events_file.read_text().splitlines(), 100):
        for event in batch.events:
            by_partition.setdefault(batch.partition, []).append(json.loads(event.get_body())["requestId"])
    failing_partition, victims = "2", by_partition["2"]
    working = app_services.usage.submit
    _fail_on(app_services.usage, victims[450])   # in partition 2's fifth batch of 100
    with pytest.raises(IngestStopped) as stopped:
        ingest_file(events_file, batch_size=100)
    checkpoints = file_checkpoints(events_file).load()
    stored = set(stored_ids(app_services.usage))
    assert checkpoints[failing_partition] == 399   # its last batch stored before the failing one
    for partition, ids in by_partition.items():   # checkpointed means stored: nothing past it is trusted
        done = checkpoints.get(partition, -1)
        assert set(ids[: done + 1]) <= stored
        assert done + 1 in range(0, len(ids) + 1, 100) or done + 1 == len(ids)   # always a batch's end
    assert stopped.value.done.stored == sum(n + 1 for n in checkpoints.values())   # what the trigger stored
    assert already_stored(events_file) == sum(n + 1 for n in checkpoints.values())

    app_services.usage.submit = working   # storage is back
    skipped = sum(n + 1 for n in checkpoints.values())
    monkeypatch.setattr(local_stack, "_described", "")
    assert main(["ingest", str(events_file), "--batch", "100", "--json"]) == 0   # the rerun, as a user does it
    out, err = capsys.readouterr()
    assert f"resuming: the {skipped:,} events an interrupted ingest of {events_file} stored are skipped" in err
    assert json.loads(out)["received"] == 3000 - skipped   # resumed after each partition's checkpoint
    ids = stored_ids(app_services.usage)
    assert len(ids) == 3000 and set(ids) == {v for vs in by_partition.values() for v in vs}
    assert file_checkpoints(events_file).load() == {}   # finished: a later rerun starts from the start
    assert ingest_file(events_file, batch_size=100).received == 3000


def test_checkpoints_belong_to_the_file_and_the_storage(app_services, events_file, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text(events_file.read_text())
    file_checkpoints(events_file).save("0", 99)
    assert already_stored(events_file) == 100 and already_stored(other) == 0
    rows = list(app_services.account.table(CHECKPOINT_TABLE).list_entities())
    assert [(r["RowKey"], r["Sequence"].value if hasattr(r["Sequence"], "value") else r["Sequence"])
            for r in rows] == [("0", 99)]
    events_file.write_text(events_file.read_text() + v2_event(3000) + "\n")   # changed: starts over
    assert already_stored(events_file) == 0
