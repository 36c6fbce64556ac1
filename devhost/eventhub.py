"""A local stand-in for Event Hubs: JSON lines -> func.EventHubEvent batches -> the real trigger."""
from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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


def batches(lines: Iterable[str], batch_size: int = 500, partitions: int = PARTITIONS) -> Iterator[Batch]:
    """Split lines into per-partition batches with stable sequence numbers (same file, same numbers).

    Streams: a partition's batch is handed over as soon as it is full, so a file is never held whole.
    """
    pending: dict[str, list[str]] = {}
    sent: dict[str, int] = {}   # events handed over per partition: the next batch's first sequence number
    enqueued = datetime.now(UTC)
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip():
            continue
        partition = partition_for(body, partitions)
        bodies = pending.setdefault(partition, [])
        bodies.append(body)
        if len(bodies) >= batch_size:
            yield _batch(partition, pending.pop(partition), sent, enqueued)
    for partition in sorted(pending):
        yield _batch(partition, pending[partition], sent, enqueued)


def _batch(partition: str, bodies: list[str], sent: dict[str, int], enqueued: datetime) -> Batch:
    first = sent.get(partition, 0)
    sent[partition] = first + len(bodies)
    return Batch(partition, event_hub_events(partition, bodies, first, enqueued))


def event_hub_events(partition: str, bodies: list[str], first_sequence: int,
                     enqueued: datetime) -> list[func.EventHubEvent]:
    metadata = {"PartitionContext": Datum(json.dumps({"PartitionId": partition, "EventHubName": "usage",
                                                      "ConsumerGroup": "chargeback"}), "json")}
    return [func.EventHubEvent(body=body.encode("utf-8"), trigger_metadata=metadata,
                               enqueued_time=enqueued, sequence_number=first_sequence + i,
                               offset=str(first_sequence + i), partition_key=None)
            for i, body in enumerate(bodies)]
