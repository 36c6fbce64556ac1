"""Orchestration instance state (status fields and full history): in memory, or in Table Storage."""
from __future__ import annotations

import contextlib
import copy
import json
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

from devhost.durable.errors import InstanceAlreadyRunning, Superseded

FINISHED = ("Completed", "Failed", "Terminated")
STATUS_ROW = "status"
# A Table string property holds 64 KiB of UTF-16; json.dumps escapes to ASCII, so 30,000 chars fit.
CHUNK_CHARS = 30_000
BATCH_LIMIT = 100


@dataclass
class InstanceRecord:
    """One orchestration instance: what the status API shows plus the history that replays it."""
    instance_id: str
    name: str
    execution_id: str
    runtime_status: str
    input_json: str | None
    created_time: datetime
    last_updated_time: datetime
    output_json: str | None = None
    custom_status_json: str | None = None
    history: list[dict] = field(default_factory=list)
    owner: str = ""                          # the host driving it (renews the lease while it lives)
    lease_until: datetime | None = None      # past this, the owner is taken to be gone
    etag: str | None = field(default=None, compare=False, repr=False)   # of the status row as loaded

    @property
    def finished(self) -> bool:
        return self.runtime_status in FINISHED

    def abandoned(self, now: datetime) -> bool:
        """Unfinished, and its host stopped renewing the lease (killed, or closed without finishing)."""
        return not self.finished and (self.lease_until is None or self.lease_until <= now)

    def status(self) -> dict:
        """The instance as the Durable HTTP API's get-status returns it."""
        return {"name": self.name, "instanceId": self.instance_id, "runtimeStatus": self.runtime_status,
                "input": _decoded(self.input_json), "customStatus": _decoded(self.custom_status_json),
                "output": _decoded(self.output_json), "createdTime": _api_time(self.created_time),
                "lastUpdatedTime": _api_time(self.last_updated_time)}


def _decoded(text: str | None):
    return None if text is None else json.loads(text)


def _api_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InMemoryInstanceStore:
    """Instances in a dict, copied in and out like a real store would serialise them."""

    def __init__(self):
        self._records: dict[str, InstanceRecord] = {}
        self._lock = threading.Lock()

    def load(self, instance_id: str, with_history: bool = True) -> InstanceRecord | None:
        with self._lock:
            record = self._records.get(instance_id)
            if record is None:
                return None
            return copy.deepcopy(record) if with_history else replace(record, history=[])

    def save(self, record: InstanceRecord) -> None:
        with self._lock:
            _check_owner(self._records.get(record.instance_id), record)
            self._records[record.instance_id] = copy.deepcopy(record)

    def claim(self, record: InstanceRecord, replacing: InstanceRecord | None) -> None:
        """Store a new execution, only if the instance is still as ``replacing`` was read (None: absent)."""
        with self._lock:
            if _stamp(self._records.get(record.instance_id)) != _stamp(replacing):
                raise InstanceAlreadyRunning(f"instance {record.instance_id} changed meanwhile")
            self._records[record.instance_id] = copy.deepcopy(record)

    def take_over(self, record: InstanceRecord, owner: str, until: datetime) -> None:  # as the table's
        with self._lock:
            current = self._records.get(record.instance_id)
            if current is None or _stamp(current) != _stamp(record):
                raise InstanceAlreadyRunning(f"instance {record.instance_id} was taken over meanwhile")
            current.owner, current.lease_until = owner, until

    def renew(self, instance_id: str, execution_id: str, owner: str, until: datetime) -> None:
        with self._lock:
            current = self._records.get(instance_id)
            if current is not None and current.execution_id == execution_id and current.owner == owner:
                current.lease_until = until

    def list_records(self) -> list[InstanceRecord]:
        """Every instance's status fields (history left out)."""
        with self._lock:
            return [replace(r, history=[]) for r in self._records.values()]


def _stamp(record: InstanceRecord | None) -> tuple | None:
    """What an etag tells apart, for the in-memory store."""
    return None if record is None else (record.execution_id, record.owner, record.lease_until, record.runtime_status)


def _check_owner(current: InstanceRecord | None, record: InstanceRecord) -> None:
    """A runner may save only the execution it drives, and not while another host holds a live lease on it
    (an expired one is a host gone: saving over it takes the instance over)."""
    if current is None:
        return
    held_by_other = current.owner and record.owner and current.owner != record.owner and (
        current.lease_until is not None and current.lease_until > datetime.now(UTC))
    replaced = current.execution_id != record.execution_id and not current.finished   # restarted meanwhile
    if replaced or held_by_other:
        raise Superseded(record.instance_id)


class TableInstanceStore:
    """One partition per instance: a status row, and the history as JSON lines in chunk rows.

    Chunk rows are keyed by execution id, written before the status row that says how many
    characters of them are valid, so a crash between the two leaves the previous state readable.
    """

    def __init__(self, connection_string: str, table_name: str = "DurableInstances"):
        service = TableServiceClient.from_connection_string(connection_string)
        self._table = service.create_table_if_not_exists(table_name)
        self._written: dict[tuple[str, str], list[str]] = {}  # chunks this store already holds
        self._lock = threading.Lock()

    def load(self, instance_id: str, with_history: bool = True) -> InstanceRecord | None:
        try:
            row = self._table.get_entity(instance_id, STATUS_ROW)
        except ResourceNotFoundError:
            return None
        record = _record_from(row)
        if with_history:
            chunks = [r["Events"] for r in self._chunk_rows(instance_id, record.execution_id)]
            text = "".join(chunks)[: row["HistoryLength"]]
            record.history = [json.loads(line) for line in text.splitlines()]
            with self._lock:
                self._written[(instance_id, record.execution_id)] = chunks
        return record

    def save(self, record: InstanceRecord) -> None:
        key = (record.instance_id, record.execution_id)
        text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in record.history)
        chunks = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
        with self._lock:
            known = self._written.get(key)
        if known is None:
            self._drop_other_executions(record.instance_id, record.execution_id)
            known = []
        changed = [("upsert", {"PartitionKey": record.instance_id,
                               "RowKey": _chunk_key(record.execution_id, i), "Events": chunk},
                    {"mode": UpdateMode.REPLACE})
                   for i, chunk in enumerate(chunks) if i >= len(known) or known[i] != chunk]
        current = self._status_row(record.instance_id)
        if current is not None:
            _check_owner(_record_from(current), record)
        for start in range(0, len(changed), BATCH_LIMIT):
            self._table.submit_transaction(changed[start:start + BATCH_LIMIT])
        self._write_status(_row_from(record, len(text)), record, current)
        with self._lock:
            self._written[key] = chunks

    def _write_status(self, row: dict, record: InstanceRecord, current) -> None:
        """Write the status row over one this execution owns (by its etag; a change in between is rechecked)."""
        for _ in range(5):
            if current is None:
                self._table.upsert_entity(row, mode=UpdateMode.REPLACE)
                return
            try:
                self._table.update_entity(row, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                                          match_condition=MatchConditions.IfNotModified)
                return
            except ResourceModifiedError:
                current = self._status_row(record.instance_id)
                if current is not None:
                    _check_owner(_record_from(current), record)   # Superseded if it is no longer ours
        raise Superseded(record.instance_id)

    def claim(self, record: InstanceRecord, replacing: InstanceRecord | None) -> None:
        """Store a new execution's status row atomically: inserted if there was none, else over the row exactly
        as ``replacing`` was read (its etag). Of two racing hosts one wins, the other gets InstanceAlreadyRunning."""
        row = _row_from(record, 0)
        try:
            if replacing is None:
                self._table.create_entity(row)
            else:
                self._table.update_entity(row, mode=UpdateMode.REPLACE, etag=replacing.etag,
                                          match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError):
            raise InstanceAlreadyRunning(f"instance {record.instance_id} was started meanwhile") from None
        with self._lock:
            self._written.pop((record.instance_id, record.execution_id), None)

    def take_over(self, record: InstanceRecord, owner: str, until: datetime) -> None:
        """Become the owner of an abandoned execution, only if its row is still as ``record`` was read."""
        try:
            self._table.update_entity({"PartitionKey": record.instance_id, "RowKey": STATUS_ROW, "Owner": owner,
                                       "LeaseUntil": until}, mode=UpdateMode.MERGE, etag=record.etag,
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            raise InstanceAlreadyRunning(f"instance {record.instance_id} was taken over meanwhile") from None

    def renew(self, instance_id: str, execution_id: str, owner: str, until: datetime) -> None:
        """Extend the lease of an execution this owner still holds (otherwise leave the row alone)."""
        current = self._status_row(instance_id)
        if current is None or current.get("ExecutionId") != execution_id or current.get("Owner", "") != owner:
            return
        with contextlib.suppress(ResourceModifiedError):   # saved meanwhile, or taken over: leave it
            self._table.update_entity({"PartitionKey": instance_id, "RowKey": STATUS_ROW, "LeaseUntil": until},
                                      mode=UpdateMode.MERGE, etag=current.metadata["etag"],
                                      match_condition=MatchConditions.IfNotModified)

    def _status_row(self, instance_id: str):
        with contextlib.suppress(ResourceNotFoundError):
            return self._table.get_entity(instance_id, STATUS_ROW)
        return None

    def list_records(self) -> list[InstanceRecord]:
        """Every instance's status fields (history left out)."""
        rows = self._table.query_entities("RowKey eq @rk", parameters={"rk": STATUS_ROW})
        return [_record_from(row) for row in rows]

    def _chunk_rows(self, instance_id: str, execution_id: str) -> list[dict]:
        prefix = _chunk_key(execution_id, 0)[:-5]
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": instance_id, "lo": prefix, "hi": prefix[:-1] + "."})
        return sorted(rows, key=lambda r: r["RowKey"])

    def _drop_other_executions(self, instance_id: str, execution_id: str) -> None:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id},
                                          select=["PartitionKey", "RowKey"])
        ours = _chunk_key(execution_id, 0)[:-5]
        self._delete_rows([r for r in rows if r["RowKey"].startswith("history-")
                           and not r["RowKey"].startswith(ours)])

    def _delete_rows(self, rows: list[dict]) -> None:
        operations = [("delete", {"PartitionKey": r["PartitionKey"], "RowKey": r["RowKey"]}) for r in rows]
        for start in range(0, len(operations), BATCH_LIMIT):
            self._table.submit_transaction(operations[start:start + BATCH_LIMIT])


def _chunk_key(execution_id: str, index: int) -> str:
    return f"history-{execution_id}-{index:05d}"


# Input, output and custom status are JSON of any size: long ones spill into numbered properties.
_PAYLOADS = {"input_json": "Input", "output_json": "Output", "custom_status_json": "CustomStatus"}


def _row_from(record: InstanceRecord, history_length: int) -> dict:
    row = {"PartitionKey": record.instance_id, "RowKey": STATUS_ROW, "Name": record.name,
           "ExecutionId": record.execution_id, "RuntimeStatus": record.runtime_status,
           "CreatedTime": record.created_time, "LastUpdatedTime": record.last_updated_time,
           "HistoryLength": history_length, "Owner": record.owner}
    if record.lease_until is not None:
        row["LeaseUntil"] = record.lease_until
    for attribute, prop in _PAYLOADS.items():
        text = getattr(record, attribute)
        if text is None:
            continue
        size = CHUNK_CHARS if text.isascii() else CHUNK_CHARS // 2  # a non-BMP char is 2 UTF-16 units
        parts = [text[i:i + size] for i in range(0, len(text), size)] or [""]
        row[f"{prop}Parts"] = len(parts)
        for i, part in enumerate(parts):
            row[prop if i == 0 else f"{prop}{i}"] = part
    return row


def _record_from(row: dict) -> InstanceRecord:
    payloads = {}
    for attribute, prop in _PAYLOADS.items():
        parts = row.get(f"{prop}Parts")
        payloads[attribute] = None if parts is None else "".join(
            row[prop if i == 0 else f"{prop}{i}"] for i in range(parts))
    lease = row.get("LeaseUntil")
    return InstanceRecord(
        instance_id=row["PartitionKey"], name=row["Name"], execution_id=row["ExecutionId"],
        runtime_status=row["RuntimeStatus"], created_time=_utc(row["CreatedTime"]),
        last_updated_time=_utc(row["LastUpdatedTime"]), owner=row.get("Owner", ""),
        lease_until=None if lease is None else _utc(lease),
        etag=getattr(row, "metadata", {}).get("etag"), **payloads)


def _utc(moment: datetime) -> datetime:
    return datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=UTC)
