"""The lean $batch body (chargeback/storage/batch_wire) against Azurite, part by part: every operation's
status is read from the answer, rows read back exactly as the library's own transaction writes them, a
refused transaction raises the library's error (and nothing of it is stored), and count() counts a record
stored under both key schemes once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from azure.core.exceptions import HttpResponseError
from azure.data.tables import EdmType, EntityProperty, TableTransactionError

from chargeback.settings import Settings
from chargeback.storage import batch_wire
from chargeback.storage.account import StorageAccount
from chargeback.storage.batch_wire import changeset_body, part_statuses, sdk_submit, submit_upserts
from chargeback.storage.usage_table import UsageStore
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from tests.fixtures.legacy_usage import store_as_first_release

AT = datetime(2026, 10, 5, 9, 0, 0, tzinfo=UTC)


def account(storage) -> StorageAccount:
    return StorageAccount(Settings.from_env({"CHARGEBACK_STORAGE": storage.connection_string,
                                             "CHARGEBACK_TABLE_PREFIX": storage.prefix}))


def rows(n: int, partition: str = "2026-10~02") -> list[dict]:
    """Entities with every kind of value the product writes, and keys that need quoting."""
    return [{"PartitionKey": partition, "RowKey": f"req '{i:03d}' é+:@", "EventTime": AT + timedelta(seconds=i),
             "Subscription": "sub-ä", "StatusCode": 200, "Stream": i % 2 == 0, "Metered": True,
             "InputTokens": EntityProperty(2**40 + i, EdmType.INT64), "AudioSeconds": str(Decimal("1.25")),
             "Tags": "a,b"} for i in range(n)]


def statuses_sent(monkeypatch) -> list[list[int]]:
    """Record the statuses part_statuses reads from each answer; fail if the library path is taken."""
    seen: list[list[int]] = []
    real = batch_wire.part_statuses

    def spy(content_type: str, body: bytes) -> list[int]:
        seen.append(real(content_type, body))
        return seen[-1]

    def no_fallback(*args, **kwargs):
        raise AssertionError("fell back to submit_transaction")

    monkeypatch.setattr(batch_wire, "part_statuses", spy)
    monkeypatch.setattr(batch_wire, "sdk_submit", no_fallback)
    return seen


def test_a_full_transaction_is_answered_part_by_part_and_reads_back_as_the_library_writes_it(storage, monkeypatch):
    tables = account(storage)
    wire, library = tables.table("Wire"), tables.table("Library")
    seen = statuses_sent(monkeypatch)
    submit_upserts(wire, rows(100))
    assert seen == [[204] * 100]   # one answer, one 204 No Content per operation
    sdk_submit(library, rows(100))
    ours = sorted(wire.list_entities(), key=lambda e: e["RowKey"])
    theirs = sorted(library.list_entities(), key=lambda e: e["RowKey"])
    assert len(ours) == 100
    assert [dict(e) for e in ours] == [dict(e) for e in theirs]
    first = ours[0]
    assert first["RowKey"] == "req '000' é+:@" and first["Subscription"] == "sub-ä"
    assert first["InputTokens"].value == 2**40 and first["EventTime"] == AT and first["AudioSeconds"] == "1.25"
    replacement = {k: v for k, v in rows(1)[0].items() if k != "Tags"} | {"Subscription": "replaced"}
    submit_upserts(wire, [replacement])   # an upsert in replace mode: the row is the new entity, whole
    assert seen[-1] == [204]
    again = wire.get_entity("2026-10~02", "req '000' é+:@")
    assert again["Subscription"] == "replaced" and "Tags" not in again


def test_a_refused_transaction_raises_the_library_error_and_stores_nothing(storage):
    table = account(storage).table("Refused")
    chunk = rows(3)
    chunk[1]["Tags"] = "x" * 40_000   # over the 64 KiB property limit: storage refuses operation 1
    with pytest.raises(TableTransactionError) as refused:
        submit_upserts(table, chunk)
    assert refused.value.status_code == 400 and refused.value.error_code == "PropertyValueTooLarge"
    assert list(table.list_entities()) == []   # the transaction is atomic


def test_the_answer_of_a_refused_transaction_reads_as_its_failing_status(storage):
    table = account(storage).table("Statuses")
    chunk = rows(2)
    chunk[0]["Tags"] = "x" * 40_000
    body = changeset_body(table, chunk, "batch_x", "changeset_y")
    from azure.core.rest import HttpRequest
    response = table._client.send_request(HttpRequest(
        "POST", f"{table.scheme}://{table._primary_hostname}/$batch", content=body,
        headers={"x-ms-version": table.api_version, "DataServiceVersion": "3.0",
                 "Content-Type": "multipart/mixed; boundary=batch_x", "Accept": "application/json"}), stream=True)
    assert response.status_code == 202
    assert part_statuses(response.headers["Content-Type"], response.read()) == [400]


def test_answers_that_are_not_a_batch_do_not_parse():
    with pytest.raises(ValueError, match="not a multipart batch"):
        part_statuses("application/json", b"{}")
    with pytest.raises(ValueError, match="without a changeset"):
        part_statuses("multipart/mixed; boundary=b", b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n")


def test_a_missing_table_is_an_http_error_not_a_silent_success(storage):
    table = account(storage).table_service.get_table_client(storage.prefix + "Absent")
    with pytest.raises(HttpResponseError):
        submit_upserts(table, rows(2))


def test_count_counts_a_record_stored_under_both_key_schemes_once(storage):
    usage = UsageStore(account(storage), shards=16)
    legacy = [UsageRecord(f"req-{i:03d}", AT + timedelta(seconds=i), f"sub-{i % 2}", "gpt-4o",
                          meters=MeterQuantities(input=10)) for i in range(40)]
    store_as_first_release(usage, legacy)
    assert usage.count("2026-10") == 40
    usage.write(legacy[:15])   # redelivered after the key changed: 15 records now have two rows each
    assert sum(1 for _ in usage.table.list_entities(select=["RowKey"])) == 55   # rows
    assert usage.count("2026-10") == 40   # records
    assert usage.count() == 40
