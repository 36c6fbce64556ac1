"""Feed a JSON-lines file through the real Event Hub trigger, as the Functions host would, and count."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from azure.core.exceptions import AzureError

from chargeback.errors import ChargebackError
from chargeback.storage.account import failure_cause
from chargeback.wiring import services
from chargeback.workflow.ingesting import IngestResult
from devhost.eventhub import PARTITIONS, Batch, batches
from devhost.functions import user_function
from devhost.ingest_checkpoints import Checkpoints, skipped_events, stream_of
from devhost.partition_pump import WORKER_THREADS, deliver

TRIGGER = "ingest_usage"
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (a zip) and the old .xls


class NotJsonLines(ChargebackError):
    """An input file that is not JSON lines (a CSV export, a workbook ...)."""


class IngestStopped(Exception):
    """The trigger failed part-way; ``done`` counts what the batches before the failure stored."""

    def __init__(self, done: IngestResult, cause: BaseException):
        self.done = done
        self.cause = failure_cause(cause) if isinstance(cause, AzureError) else str(cause)
        super().__init__(self.cause)


@contextmanager
def counting() -> Iterator[IngestResult]:
    """Collect the IngestResult of every batch the trigger handles inside the block (from any thread)."""
    total = IngestResult()
    lock = threading.Lock()

    def add(result: IngestResult) -> None:
        with lock:
            total.add(result)
    observers = services().ingest_observers
    observers.append(add)
    try:
        yield total
    finally:
        observers.remove(add)


def ingest_lines(lines: Iterable[str], batch_size: int = 500,
                 on_batch: Callable[[int], None] | None = None, concurrency: int = WORKER_THREADS,
                 checkpoints: Checkpoints | None = None) -> IngestResult:
    """Each batch goes to the trigger as the Functions host would hand it over (devhost/partition_pump: per
    partition in order, partitions at once); failures propagate. With ``checkpoints``, a partition's
    checkpoint moves after each batch it stored, a rerun skips what was checkpointed, and a run that
    reaches the end removes them."""
    trigger = user_function(TRIGGER)
    s = services()
    _ = s.usage, s.dead_letters, s.telemetry, s.gateway_halves   # built once, before threads share them
    progress_lock = threading.Lock()

    def handle(batch: Batch) -> None:
        trigger(batch.events)
        if checkpoints is not None:
            checkpoints.save(batch.partition, batch.last_sequence)
        if on_batch is not None:
            with progress_lock:
                on_batch(len(batch.events))
    after = checkpoints.load() if checkpoints is not None else None
    with counting() as total:
        deliver(batches(lines, batch_size, after=after), handle, concurrency)
    if checkpoints is not None:
        checkpoints.clear()
    return total


def file_checkpoints(path: Path) -> Checkpoints:
    """The checkpoints of ingesting this file into the configured storage."""
    return Checkpoints(stream_of(path, PARTITIONS))


def already_stored(path: Path) -> int:
    """Events of the file an interrupted ingest stored (checkpointed): a rerun skips them."""
    return skipped_events(file_checkpoints(path).load())


def ingest_file(path: Path, batch_size: int = 500,
                on_batch: Callable[[int], None] | None = None) -> IngestResult:
    """Ingest a JSON-lines file, resuming each partition after its checkpoint; IngestStopped (with what
    this run stored) if storage gives out part-way."""
    check_json_lines(path)
    with open(path, encoding="utf-8", newline="") as handle, counting() as so_far:
        try:
            return ingest_lines(handle, batch_size, on_batch, checkpoints=file_checkpoints(path))
        except (ChargebackError, AzureError, OSError) as exc:
            raise IngestStopped(so_far, exc) from exc


def count_events(path: Path) -> int:
    """Non-blank lines: the events a JSON-lines file holds (for progress and its ETA)."""
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def check_json_lines(path: Path) -> None:
    """Refuse, before anything is stored, a file whose first event is not a JSON object on its own line."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        first = next((line for line in handle if line.strip()), b"")
    if head.startswith(_SPREADSHEET_MAGIC) or path.suffix.lower() in (".xlsx", ".xls", ".csv", ".tsv"):
        raise NotJsonLines(f"{path} looks like a {'spreadsheet' if head.startswith(_SPREADSHEET_MAGIC) else 'CSV'}"
                           " file: ingest expects JSON lines, one usage event (a JSON object) per line, as APIM"
                           " sends them and `chargeback generate` writes them")
    if first and not first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{"):
        raise NotJsonLines(f"{path} does not start with a JSON object: ingest expects JSON lines, one usage event "
                           f"per line (its first line begins {first[:40].decode('utf-8', 'replace')!r})")
