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
    except ValueError:
        key = None
    if not isinstance(key, str):
        return "0" if '"appSubscriptionKey"' in line else str(zlib.crc32(line.encode()) % partitions)
    return str(zlib.crc32(key.encode()) % partitions)


@dataclass
class Batch:
    partition: str
    events: list[func.EventHubEvent]


def batches(lines: Iterable[str], batch_size: int = 500, partitions: int = PARTITIONS) -> Iterator[Batch]:
    """Split lines into per-partition batches with stable sequence numbers (same file, same numbers)."""
    by_partition: dict[str, list[str]] = {}
    for line in lines:
        line = line.rstrip("\r\n")
        if line.strip():
            by_partition.setdefault(partition_for(line, partitions), []).append(line)
    enqueued = datetime.now(UTC)
    for partition in sorted(by_partition):
        bodies = by_partition[partition]
        for start in range(0, len(bodies), batch_size):
            chunk = bodies[start:start + batch_size]
            yield Batch(partition, event_hub_events(partition, chunk, start, enqueued))


def event_hub_events(partition: str, bodies: list[str], first_sequence: int,
                     enqueued: datetime) -> list[func.EventHubEvent]:
    metadata = {"PartitionContext": Datum(json.dumps({"PartitionId": partition, "EventHubName": "usage",
                                                      "ConsumerGroup": "chargeback"}), "json")}
    return [func.EventHubEvent(body=body.encode("utf-8"), trigger_metadata=metadata,
                               enqueued_time=enqueued, sequence_number=first_sequence + i,
                               offset=str(first_sequence + i), partition_key=None)
            for i, body in enumerate(bodies)]
