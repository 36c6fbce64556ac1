"""What became of one notice on one channel: the delivery states and their record (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SENT, FAILED = "sent", "failed"
INVOICE = "invoice"   # the notice kind of an invoice; budget alerts are "budget-{percent}" and "budget-forecast"


@dataclass(frozen=True)
class DeliveryRecord:
    """One notice on one channel (``email`` or ``webhook``) for one invoice version."""

    month: str
    department: str
    version: int
    channel: str
    status: str             # SENT or FAILED; a FAILED record is retried by the month's next run
    attempts: int
    run_id: str
    at: datetime
    revision: bool = False
    error: str = ""
    kind: str = INVOICE   # which notice: delivered once per month, department, kind, version and channel
