"""The invoice index: per month and department the latest invoice, plus every version and every run."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors

INDEX_TABLE, VERSIONS_TABLE, RUNS_TABLE = "InvoiceIndex", "InvoiceVersions", "InvoiceRuns"


@dataclass(frozen=True)
class InvoiceEntry:
    """One department's invoice for a month, as the index records it."""

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

    def to_entity(self) -> dict:
        return {"PartitionKey": self.month, "RowKey": self.department, "Name": self.name, "Total": str(self.total),
                "Currency": self.currency, "Version": self.version, "Blob": self.blob,
                "InvoiceNumber": self.invoice_number, "RunId": self.run_id, "GeneratedAt": self.generated_at,
                "Revision": self.revision, "ContentHash": self.content_hash}

    @classmethod
    def from_entity(cls, e: dict, month: str | None = None, department: str | None = None) -> InvoiceEntry:
        return cls(month=month or e["PartitionKey"], department=department or e["RowKey"], name=e["Name"],
                   total=Decimal(e["Total"]), currency=e["Currency"], version=int(e["Version"]), blob=e["Blob"],
                   invoice_number=e["InvoiceNumber"], run_id=e["RunId"],
                   generated_at=datetime.fromisoformat(e["GeneratedAt"].isoformat()), revision=bool(e["Revision"]),
                   content_hash=e["ContentHash"])

    def as_dict(self) -> dict:
        d = asdict(self)
        d["total"], d["generated_at"] = str(self.total), self.generated_at.isoformat()
        return d


class InvoiceIndex:
    def __init__(self, account: StorageAccount):
        self.account = account

    def latest(self, month: str, department: str) -> InvoiceEntry | None:
        with storage_errors("reading the invoice index"):
            try:
                return InvoiceEntry.from_entity(self.account.table(INDEX_TABLE).get_entity(month, department))
            except ResourceNotFoundError:
                return None

    def month(self, month: str) -> list[InvoiceEntry]:
        with storage_errors("reading the invoice index"):
            rows = self.account.table(INDEX_TABLE).query_entities("PartitionKey eq @m", parameters={"m": month})
            return sorted((InvoiceEntry.from_entity(r) for r in rows), key=lambda e: e.department)

    def versions(self, month: str, department: str) -> list[InvoiceEntry]:
        with storage_errors("reading invoice versions"):
            rows = self.account.table(VERSIONS_TABLE).query_entities(
                "PartitionKey eq @p", parameters={"p": f"{month}~{department}"})
            return sorted((InvoiceEntry.from_entity(r, month, department) for r in rows), key=lambda e: e.version)

    def record(self, entries: list[InvoiceEntry]) -> None:
        """Upsert each entry as the month's latest and as a version (idempotent)."""
        with storage_errors("writing the invoice index"):
            for entry in entries:
                version_row = {**entry.to_entity(), "PartitionKey": f"{entry.month}~{entry.department}",
                               "RowKey": f"{entry.version:05d}"}
                self.account.table(VERSIONS_TABLE).upsert_entity(version_row, mode=UpdateMode.REPLACE)
                self.account.table(INDEX_TABLE).upsert_entity(entry.to_entity(), mode=UpdateMode.REPLACE)

    def record_run(self, month: str, run_id: str, summary: dict) -> None:
        with storage_errors("recording the invoicing run"):
            self.account.table(RUNS_TABLE).upsert_entity(
                {"PartitionKey": month, "RowKey": run_id, "Summary": json.dumps(summary, default=str)[:30_000]},
                mode=UpdateMode.REPLACE)

    def runs(self, month: str) -> list[dict]:
        with storage_errors("listing invoicing runs"):
            rows = self.account.table(RUNS_TABLE).query_entities("PartitionKey eq @m", parameters={"m": month})
            return [{"run_id": r["RowKey"], **json.loads(r["Summary"])} for r in rows]
