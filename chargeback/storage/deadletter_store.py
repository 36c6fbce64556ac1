"""Dead-lettered events in Table Storage (bodies too large for a property go to a blob)."""
from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.entity_groups import transactions
from chargeback.storage.refusals import submit_or_split
from chargeback.storage.usage_table import _submit
from chargeback.usage.events import DeadLetter, RawEvent

DEAD_LETTER_TABLE = "UsageDeadLetters"
DEAD_LETTER_CONTAINER = "deadletters"
PARTITION = "deadletter"
# A string property holds 64 KiB of UTF-16 (https://learn.microsoft.com/rest/api/storageservices/
# understanding-the-table-service-data-model#property-types): sized in UTF-16 bytes, an emoji is 4.
MAX_INLINE_BODY_BYTES = 60_000
MAX_REASON = 1000


def _utf16_bytes(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass"))


def _int(value: object, default: int) -> int:
    if isinstance(value, EntityProperty):   # Int64 reads back wrapped
        value = value.value
    return value if isinstance(value, int) else default


class StoredDeadLetter:
    """A dead letter as listed: id, reason, when, coordinates, and its body for replay."""

    def __init__(self, entity: dict[str, Any], body: str):
        self.id = entity["RowKey"]
        self.reason = entity["Reason"]
        self.recorded_at = entity.get("RecordedAt")
        self.partition = entity.get("EventPartition", "")
        self.sequence_number = _int(entity.get("SequenceNumber"), -1)
        self.offset = entity.get("Offset", "")
        self.enqueued_time = entity.get("EnqueuedTime")
        self.body_encoding = entity.get("BodyEncoding", "utf-8")
        self.body_blob = entity.get("BodyBlob", "")
        self.body = body

    def raw_event(self) -> RawEvent:
        data = base64.b64decode(self.body) if self.body_encoding == "base64" else self.body.encode("utf-8")
        return RawEvent(data, self.partition, self.sequence_number, self.offset, self.enqueued_time,
                        key_scrubbed=True)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "recordedAt": _iso(self.recorded_at),
                "partition": self.partition, "sequenceNumber": self.sequence_number, "offset": self.offset,
                "enqueuedTime": _iso(self.enqueued_time), "bodyEncoding": self.body_encoding,
                "body": self.body}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class DeadLetterStore:
    def __init__(self, account: StorageAccount):
        self.account = account

    @property
    def table(self) -> TableClient:
        return self.account.table(DEAD_LETTER_TABLE)

    def add(self, letters: Iterable[DeadLetter]) -> int:
        """Store dead letters idempotently (same event, same row); raises StorageUnavailable."""
        now = datetime.now(UTC)
        letters = list(letters)
        entities = [self._entity(letter, now) for letter in letters]
        if not entities:
            return 0
        table = self.table
        with storage_errors("storing dead letters"):
            refused = [row for chunk in transactions(entities)
                       for row in submit_or_split(lambda c: _submit(table, c), chunk)]
        by_id = {letter.dead_letter_id: letter for letter in letters}
        for entity, reason in refused:   # by construction this does not happen; if it does, keep the body
            letter = by_id[entity["RowKey"]]
            fallback = self._entity(letter, now, reason=f"{letter.reason} (row refused: {reason})", blob=True)
            with storage_errors("storing a refused dead letter"):
                _submit(table, [fallback])
        return len(entities)

    def _entity(self, letter: DeadLetter, now: datetime, reason: str = "", blob: bool = False) -> dict[str, Any]:
        # Coordinates come from Event Hubs: the sequence number is an int64 there, so Int64 here too.
        entity: dict[str, Any] = {
            "PartitionKey": PARTITION, "RowKey": letter.dead_letter_id,
            "Reason": (reason or letter.reason)[:MAX_REASON],
            "RecordedAt": now, "EventPartition": letter.partition[:256],
            "SequenceNumber": EntityProperty(letter.sequence_number, EdmType.INT64),
            "Offset": letter.offset[:256], "BodyEncoding": letter.body_encoding,
        }
        if letter.enqueued_time is not None:
            entity["EnqueuedTime"] = letter.enqueued_time
        if not blob and _utf16_bytes(letter.body) <= MAX_INLINE_BODY_BYTES:
            entity["Body"] = letter.body
        else:
            entity["BodyBlob"] = self._put_blob(letter)
        return entity

    def _put_blob(self, letter: DeadLetter) -> str:
        name = f"{letter.dead_letter_id}.txt"
        with storage_errors("storing a dead-letter body"):
            self.account.container(DEAD_LETTER_CONTAINER).upload_blob(
                name, letter.body.encode("utf-8", "surrogatepass"), overwrite=True)
        return name

    def list(self) -> Iterator[StoredDeadLetter]:
        with storage_errors("listing dead letters"):
            for entity in self.table.query_entities("PartitionKey eq @p", parameters={"p": PARTITION}):
                yield StoredDeadLetter(entity, self._body(entity))

    def _body(self, entity: dict[str, Any]) -> str:
        if "BodyBlob" not in entity:
            return str(entity.get("Body", ""))
        blob = self.account.container(DEAD_LETTER_CONTAINER).download_blob(entity["BodyBlob"])
        return blob.readall().decode("utf-8", "surrogatepass")

    def update_reason(self, letter_id: str, reason: str) -> None:
        with storage_errors("updating a dead letter"):
            self.table.update_entity({"PartitionKey": PARTITION, "RowKey": letter_id, "Reason": reason[:MAX_REASON]},
                                     mode=UpdateMode.MERGE)

    def remove(self, letter: StoredDeadLetter) -> None:
        with storage_errors("removing a replayed dead letter"):
            self.table.delete_entity(PARTITION, letter.id)
            if letter.body_blob:
                self.account.container(DEAD_LETTER_CONTAINER).delete_blob(letter.body_blob)
