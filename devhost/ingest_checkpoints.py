"""Per-partition checkpoints of a `chargeback ingest` run, kept in the storage that holds its rows.

The Functions host keeps an Event Hub consumer's checkpoints in the app's own storage account, one per
partition: the position of the last event of the last batch handled. The local host does the same for a
file: after a batch is stored its partition's checkpoint moves to the batch's last sequence number, and a
rerun of an interrupted ingest skips, per partition, what was checkpointed. A run that finishes removes
its checkpoints, so ingesting the same file again rewrites it (idempotent upserts), as before.

A file is known by its resolved path, size and modification time: change the file and it starts over.
"""
from __future__ import annotations

import hashlib
from contextlib import suppress
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode

from chargeback.storage.account import storage_errors
from chargeback.wiring import services

CHECKPOINT_TABLE = "IngestCheckpoints"


def stream_of(path: Path, partitions: int) -> str:
    """The checkpoints' key for a file (its identity as a stream of events)."""
    stat = path.stat()
    identity = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{partitions}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:40]


class Checkpoints:
    """The last stored sequence number per partition of one stream."""

    def __init__(self, stream: str, table: TableClient | None = None):
        self.stream = stream
        self.table = table if table is not None else services().account.table(CHECKPOINT_TABLE)

    def load(self) -> dict[str, int]:
        with storage_errors("reading ingest checkpoints"):
            rows = self.table.query_entities("PartitionKey eq @s", parameters={"s": self.stream})
            return {row["RowKey"]: int(getattr(row["Sequence"], "value", row["Sequence"])) for row in rows}

    def save(self, partition: str, sequence: int) -> None:
        """After a batch of ``partition`` is stored: its last event's sequence number."""
        with storage_errors("checkpointing ingest"):
            self.table.upsert_entity({"PartitionKey": self.stream, "RowKey": partition,
                                      "Sequence": EntityProperty(sequence, EdmType.INT64)}, mode=UpdateMode.REPLACE)

    def clear(self) -> None:
        """The stream was ingested to its end: a rerun starts from the beginning again."""
        with storage_errors("removing ingest checkpoints"):
            for partition in self.load():
                with suppress(ResourceNotFoundError):   # removed meanwhile
                    self.table.delete_entity(self.stream, partition)


def skipped_events(checkpoints: dict[str, int]) -> int:
    """Events a resumed run skips: sequence numbers start at 0 in every partition."""
    return sum(sequence + 1 for sequence in checkpoints.values())
