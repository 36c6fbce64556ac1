"""Dead-lettered events in Table Storage (bodies too large for a property go to a blob)."""
from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from azure.data.tables import UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.usage_table import _submit, transactions
from chargeback.usage.events import DeadLetter, RawEvent

DEAD_LETTER_TABLE = "UsageDeadLetters"
DEAD_LETTER_CONTAINER = "deadletters"
PARTITION = "deadletter"
MAX_INLINE_BODY = 30_000  # a string property holds 64 KiB of UTF-16


class StoredDeadLetter:
    """A dead letter as listed: id, reason, when, coordinates, and its body for replay."""

    def __init__(self, entity: dict, body: str):
        self.id = entity["RowKey"]
        self.reason = entity["Reason"]
        self.recorded_at = entity.get("RecordedAt")
        self.partition = entity.get("EventPartition", "")
        self.sequence_number = entity.get("SequenceNumber", -1)
        self.offset = entity.get("Offset", "")
        self.enqueued_time = entity.get("EnqueuedTime")
        self.body_encoding = entity.get("BodyEncoding", "utf-8")
        self.body = body

    def raw_event(self) -> RawEvent:
        data = base64.b64decode(self.body) if self.body_encoding == "base64" else self.body.encode("utf-8")
        return RawEvent(data, self.partition, self.sequence_number, self.offset, self.enqueued_time)

    def as_dict(self) -> dict:
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
    def table(self):
        return self.account.table(DEAD_LETTER_TABLE)

    def add(self, letters: Iterable[DeadLetter]) -> int:
        """Store dead letters idempotently (same event, same row); raises StorageUnavailable."""
        now = datetime.now(UTC)
        entities = []
        for letter in letters:
            entity = {
                "PartitionKey": PARTITION, "RowKey": letter.dead_letter_id, "Reason": letter.reason[:1000],
                "RecordedAt": now, "EventPartition": letter.partition, "SequenceNumber": letter.sequence_number,
                "Offset": letter.offset, "BodyEncoding": letter.body_encoding,
            }
            if letter.enqueued_time is not None:
                entity["EnqueuedTime"] = letter.enqueued_time
            if len(letter.body) <= MAX_INLINE_BODY:
                entity["Body"] = letter.body
            else:
                entity["BodyBlob"] = self._put_blob(letter)
            entities.append(entity)
        table = self.table if entities else None
        with storage_errors("storing dead letters"):
            for chunk in transactions(entities):
                _submit(table, chunk)
        return len(entities)

    def _put_blob(self, letter: DeadLetter) -> str:
        name = f"{letter.dead_letter_id}.txt"
        with storage_errors("storing a dead-letter body"):
            self.account.container(DEAD_LETTER_CONTAINER).upload_blob(name, letter.body.encode("utf-8"),
                                                                       overwrite=True)
        return name

    def list(self) -> Iterator[StoredDeadLetter]:
        with storage_errors("listing dead letters"):
            for entity in self.table.query_entities("PartitionKey eq @p", parameters={"p": PARTITION}):
                yield StoredDeadLetter(entity, self._body(entity))

    def _body(self, entity: dict) -> str:
        if "BodyBlob" not in entity:
            return entity.get("Body", "")
        blob = self.account.container(DEAD_LETTER_CONTAINER).download_blob(entity["BodyBlob"])
        return blob.readall().decode("utf-8")

    def update_reason(self, letter_id: str, reason: str) -> None:
        with storage_errors("updating a dead letter"):
            self.table.update_entity({"PartitionKey": PARTITION, "RowKey": letter_id, "Reason": reason[:1000]},
                                     mode=UpdateMode.MERGE)

    def remove(self, letter: StoredDeadLetter) -> None:
        with storage_errors("removing a replayed dead letter"):
            self.table.delete_entity(PARTITION, letter.id)
            if letter.body and len(letter.body) > MAX_INLINE_BODY:
                self.account.container(DEAD_LETTER_CONTAINER).delete_blob(f"{letter.id}.txt")
