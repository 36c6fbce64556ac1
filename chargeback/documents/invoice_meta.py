"""What an invoicing run stamps on every document: issuer, month, issue date, version, run."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chargeback.months import month_bounds

_ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")


@dataclass(frozen=True)
class InvoiceMeta:
    """The facts about a run's documents that are not in the priced month itself."""

    issuer: str            # who invoices: the platform team, shown on every document
    month: str             # "YYYY-MM"
    issue_date: date
    version: int           # 1 for a month's first run; each rerun issues the next version
    revision: bool         # True when this version replaces an earlier one: the documents say so
    run_id: str
    billing_account_id: str = "chargeback"   # FOCUS BillingAccountId (setting CHARGEBACK_BILLING_ACCOUNT_ID)
    # The month's documents name each department's invoice as issued in this run (its own version, which a
    # revision raises for some departments only): (department, invoice number) pairs.
    numbers: tuple[tuple[str, str], ...] = ()
    # A department's revision (issue 13): the replaced version's total and why it changed ("" unknown).
    # Not in to_dict: set only where one department's workbook is rendered (workflow.invoicing).
    previous_total: Decimal | None = None
    revision_reason: str = ""

    def __post_init__(self) -> None:
        month_bounds(self.month)   # InvalidMonth for anything but YYYY-MM
        if not _ACCOUNT_ID.fullmatch(self.billing_account_id):
            raise ValueError("the billing account id must be letters, digits and . _ : / - (starting with a "
                             f"letter or digit), got {self.billing_account_id!r}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValueError(f"version must be a whole number from 1, got {self.version!r}")

    def invoice_number(self, department_id: str) -> str:
        """``CB-2026-10-MARKETING-1``: stable for a department, month and version (as issued, when known)."""
        issued = dict(self.numbers).get(department_id)
        return issued or f"CB-{self.month}-{department_id.upper()}-{self.version}"

    @property
    def issued_at(self) -> datetime:
        """The issue date at 00:00 UTC (naive, as document properties store UTC)."""
        return datetime(self.issue_date.year, self.issue_date.month, self.issue_date.day)  # noqa: DTZ001

    def to_dict(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "month": self.month, "issue_date": self.issue_date.isoformat(),
                "version": self.version, "revision": self.revision, "run_id": self.run_id,
                "billing_account_id": self.billing_account_id, "numbers": [list(n) for n in self.numbers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InvoiceMeta:
        return cls(issuer=data["issuer"], month=data["month"], issue_date=date.fromisoformat(data["issue_date"]),
                   version=int(data["version"]), revision=bool(data["revision"]), run_id=data["run_id"],
                   billing_account_id=data.get("billing_account_id", "chargeback"),
                   numbers=tuple((d, n) for d, n in data.get("numbers", ())))
