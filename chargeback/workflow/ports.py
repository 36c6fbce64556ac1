"""The stores and channels the workflow steps need, as ports (``typing.Protocol``).

The steps name what they call, not the adapter that answers: ``chargeback.storage`` provides the
real ones (wired in ``chargeback.wiring``), unit tests their fakes, and mypy checks both fit.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from chargeback.actuals.model import MonthActuals
from chargeback.config.model import ChargebackConfig
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.notices.budget_alert import BudgetAlert
from chargeback.notices.delivery import DeliveryRecord
from chargeback.notices.render import Notice
from chargeback.usage.events import DeadLetter, RawEvent
from chargeback.usage.record import UsageRecord

# What storage refused to write, row by row: (the row, storage's reason).
Refusals = Sequence[tuple[Mapping[str, Any], str]]


class UsageSink(Protocol):
    """Writes usage records (idempotent upserts); the rows it refused come back with the reason."""

    def write_checked(self, records: Iterable[UsageRecord]) -> tuple[int, Refusals]: ...


class DeadLetterSink(Protocol):
    """Sets events aside with their reason."""

    def add(self, letters: Iterable[DeadLetter]) -> int: ...


class StoredLetter(Protocol):
    """A dead letter as stored: its id, its reason, and the event to parse again."""

    @property
    def id(self) -> str: ...

    @property
    def reason(self) -> str: ...

    def raw_event(self) -> RawEvent: ...


Letter = TypeVar("Letter", bound=StoredLetter)


class DeadLetterArchive(Protocol[Letter]):
    """Stored dead letters, for replay: listed, their reason updated, removed once stored."""

    def list(self) -> Iterator[Letter]: ...

    def update_reason(self, letter_id: str, reason: str) -> None: ...

    def remove(self, letter: Letter) -> None: ...


class BatchTelemetry(Protocol):
    """What ingest saw, per batch (best effort)."""

    def record_batch(self, records: Iterable[UsageRecord], dead: Iterable[DeadLetter]) -> None: ...


class UsageSource(Protocol):
    """Stored usage records, by month partition."""

    def partitions(self, month: str) -> list[str]: ...

    def read_partition(self, partition: str, columns: list[str] | None = None) -> Iterator[UsageRecord]: ...


class ConfigSource(Protocol):
    """Configuration versions by fingerprint, and which one is in force."""

    def current_fingerprint(self) -> str | None: ...

    def get(self, fingerprint: str) -> ChargebackConfig | None: ...


class ActualsSource(Protocol):
    """Each month's imported actuals (Azure's actual bill, mapped to meters)."""

    def get(self, month: str) -> MonthActuals | None: ...


class Documents(Protocol):
    """Blobs by container and name, and JSON run artifacts."""

    def put(self, container: str, name: str, data: bytes, content_type: str,
            metadata: dict[str, str] | None = None) -> str: ...

    def put_json(self, container: str, name: str, document: Any) -> str: ...

    def get_json(self, container: str, name: str) -> Any: ...

    def get_range(self, container: str, name: str, offset: int, length: int) -> bytes | None: ...


class InvoiceLedger(Protocol):
    """The invoice index: each department's latest invoice per month, every version, every run."""

    def latest(self, month: str, department: str) -> InvoiceEntry | None: ...

    def latest_many(self, month: str, departments: list[str]) -> dict[str, InvoiceEntry]: ...

    def versions(self, month: str, department: str) -> list[InvoiceEntry]: ...

    def record(self, entries: list[InvoiceEntry]) -> None: ...

    def record_run(self, month: str, run_id: str, summary: dict[str, Any]) -> None: ...


class DeliveryLog(Protocol):
    """What became of each notice on each channel."""

    def get(self, month: str, department: str, version: int, channel: str,
            kind: str = ...) -> DeliveryRecord | None: ...

    def record(self, record: DeliveryRecord) -> None: ...


class Channel(Protocol):
    """Delivers one notice to one target (recipients for email, a URL for a webhook); raises DeliveryFailed."""

    def deliver(self, notice: Notice | BudgetAlert, target: Any) -> None: ...
