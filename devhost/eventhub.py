"""A local stand-in for Event Hubs: JSON lines -> func.EventHubEvent batches -> the real trigger."""
from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import azure.functions as func
from azure.functions.meta import Datum

PARTITIONS = 4


def partition_for(line: str, partitions: int = PARTITIONS) -> str:
    """Where APIM's log-to-eventhub would put the event: partition-key requestId (v2), partition 0 (seed)."""
    try:
        doc = json.loads(line)
        key = doc.get("requestId") if isinstance(doc, dict) else None
    except (ValueError, RecursionError):   # not JSON, or nested past Python's limit: the trigger judges it
        key = None
    if not isinstance(key, str):
        return "0" if '"appSubscriptionKey"' in line else str(zlib.crc32(line.encode()) % partitions)
    return str(zlib.crc32(key.encode()) % partitions)


@dataclass
class Batch:
    partition: str
    events: list[func.EventHubEvent]

    @property
    def last_sequence(self) -> int:
        """The sequence number a checkpoint after this batch records."""
        return int(self.events[-1].sequence_number) if self.events else -1


def batches(lines: Iterable[str], batch_size: int = 500, partitions: int = PARTITIONS,
            after: Mapping[str, int] | None = None) -> Iterator[Batch]:
    """Split lines into per-partition batches with stable sequence numbers (same file, same numbers).

    Streams: a partition's batch is handed over as soon as it is full, so a file is never held whole.
    ``after``: per partition, the last sequence number already stored (a checkpoint); those events and
    the ones before them are skipped, as a consumer resuming from a checkpoint would.
    """
    pending: dict[str, _Pending] = {}
    numbered: dict[str, int] = {}   # events seen per partition: the next event's sequence number
    skip = after or {}
    enqueued = datetime.now(UTC)
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip():
            continue
        partition = partition_for(body, partitions)
        sequence = numbered.get(partition, 0)
        numbered[partition] = sequence + 1
        if sequence <= skip.get(partition, -1):
            continue
        batch = pending.setdefault(partition, _Pending(sequence))
        batch.bodies.append(body)
        if len(batch.bodies) >= batch_size:
            yield pending.pop(partition).batch(partition, enqueued)
    for partition in sorted(pending):
        yield pending[partition].batch(partition, enqueued)


@dataclass
class _Pending:
    first: int   # sequence number of the first body
    bodies: list[str] = field(default_factory=list)

    def batch(self, partition: str, enqueued: datetime) -> Batch:
        return Batch(partition, event_hub_events(partition, self.bodies, self.first, enqueued))


def event_hub_events(partition: str, bodies: list[str], first_sequence: int,
                     enqueued: datetime) -> list[func.EventHubEvent]:
    metadata = {"PartitionContext": Datum(json.dumps({"PartitionId": partition, "EventHubName": "usage",
                                                      "ConsumerGroup": "chargeback"}), "json")}
    return [func.EventHubEvent(body=body.encode("utf-8"), trigger_metadata=metadata,
                               enqueued_time=enqueued, sequence_number=first_sequence + i,
                               offset=str(first_sequence + i), partition_key=None)
            for i, body in enumerate(bodies)]
