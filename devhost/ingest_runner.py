"""Feed a JSON-lines file through the real Event Hub trigger, batch by batch, and count."""
from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import chargeback.workflow.ingesting as ingest_service
from chargeback.workflow.ingesting import IngestResult
from devhost.eventhub import batches
from devhost.functions import user_function

TRIGGER = "ingest_usage"


@contextmanager
def counting():
    """Collect the IngestResult of every batch the trigger handles inside the block."""
    total = IngestResult()
    ingest_service.batch_listeners.append(total.add)
    try:
        yield total
    finally:
        ingest_service.batch_listeners.remove(total.add)


def ingest_lines(lines: Iterable[str], batch_size: int = 500) -> IngestResult:
    """Each batch goes to the trigger as the Functions host would hand it over; failures propagate."""
    trigger = user_function(TRIGGER)
    with counting() as total:
        for batch in batches(lines, batch_size):
            trigger(batch.events)
    return total


def ingest_file(path: Path, batch_size: int = 500) -> IngestResult:
    with open(path, encoding="utf-8", newline="") as handle:
        return ingest_lines(handle, batch_size)
