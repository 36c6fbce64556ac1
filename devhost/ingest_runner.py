"""Feed a JSON-lines file through the real Event Hub trigger, batch by batch, and count."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from azure.core.exceptions import AzureError

from chargeback.errors import ChargebackError
from chargeback.storage.account import failure_cause
from chargeback.wiring import services
from chargeback.workflow.ingesting import IngestResult
from devhost.eventhub import batches
from devhost.functions import user_function

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
    """Collect the IngestResult of every batch the trigger handles inside the block."""
    total = IngestResult()
    observers = services().ingest_observers
    observers.append(total.add)
    try:
        yield total
    finally:
        observers.remove(total.add)


def ingest_lines(lines: Iterable[str], batch_size: int = 500,
                 on_batch: Callable[[int], None] | None = None) -> IngestResult:
    """Each batch goes to the trigger as the Functions host would hand it over; failures propagate."""
    trigger = user_function(TRIGGER)
    with counting() as total:
        for batch in batches(lines, batch_size):
            trigger(batch.events)
            if on_batch is not None:
                on_batch(len(batch.events))
    return total


def ingest_file(path: Path, batch_size: int = 500,
                on_batch: Callable[[int], None] | None = None) -> IngestResult:
    """Ingest a JSON-lines file; IngestStopped (with what was stored) if storage gives out part-way."""
    check_json_lines(path)
    with open(path, encoding="utf-8", newline="") as handle, counting() as so_far:
        try:
            return ingest_lines(handle, batch_size, on_batch)
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
