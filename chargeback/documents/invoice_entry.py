"""An issued invoice: what the index records of one department's workbook for a month (pure)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class InvoiceEntry:
    """One department's invoice for a month, one version of it."""

    month: str
    department: str
    name: str
    total: Decimal
    currency: str
    version: int
    blob: str
    invoice_number: str
    run_id: str
    generated_at: datetime
    revision: bool
    content_hash: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (activity outputs): the total as text, the time in ISO 8601."""
        d = asdict(self)
        d["total"], d["generated_at"] = str(self.total), self.generated_at.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InvoiceEntry:
        """The inverse of ``as_dict`` (extra keys, such as an activity's ``changed``, are ignored)."""
        return cls(month=d["month"], department=d["department"], name=d["name"], total=Decimal(d["total"]),
                   currency=d["currency"], version=int(d["version"]), blob=d["blob"],
                   invoice_number=d["invoice_number"], run_id=d["run_id"],
                   generated_at=datetime.fromisoformat(d["generated_at"]), revision=bool(d["revision"]),
                   content_hash=d["content_hash"])
