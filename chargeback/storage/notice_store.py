"""Delivery records of invoice notices: one per month, department, invoice version and channel."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from chargeback.storage.account import StorageAccount, storage_errors

NOTICES_TABLE = "NoticeDeliveries"
SENT, FAILED = "sent", "failed"


@dataclass(frozen=True)
class DeliveryRecord:
    """What became of one notice on one channel (``email`` or ``webhook``)."""

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

    def to_entity(self) -> dict:
        return {"PartitionKey": f"{self.month}~{self.department}", "RowKey": f"{self.version:05d}~{self.channel}",
                "Status": self.status, "Attempts": self.attempts, "RunId": self.run_id, "At": self.at,
                "Revision": self.revision, "Error": self.error[:1000]}

    @classmethod
    def from_entity(cls, e: dict) -> DeliveryRecord:
        month, department = e["PartitionKey"].split("~", 1)
        version, channel = e["RowKey"].split("~", 1)
        return cls(month=month, department=department, version=int(version), channel=channel, status=e["Status"],
                   attempts=int(e["Attempts"]), run_id=e["RunId"], at=datetime.fromisoformat(e["At"].isoformat()),
                   revision=bool(e.get("Revision", False)), error=e.get("Error", ""))


class NoticeStore:
    """Read and write delivery records (Table Storage)."""

    def __init__(self, account: StorageAccount):
        self.account = account

    def get(self, month: str, department: str, version: int, channel: str) -> DeliveryRecord | None:
        with storage_errors("reading a notice delivery"):
            try:
                entity = self.account.table(NOTICES_TABLE).get_entity(f"{month}~{department}",
                                                                      f"{version:05d}~{channel}")
            except ResourceNotFoundError:
                return None
        return DeliveryRecord.from_entity(entity)

    def record(self, record: DeliveryRecord) -> None:
        """Upsert: a later outcome for the same version and channel replaces an earlier one."""
        with storage_errors("recording a notice delivery"):
            self.account.table(NOTICES_TABLE).upsert_entity(record.to_entity(), mode=UpdateMode.REPLACE)

    def department(self, month: str, department: str) -> list[DeliveryRecord]:
        """Every delivery for a department's invoices of a month, oldest version first."""
        with storage_errors("listing notice deliveries"):
            rows = self.account.table(NOTICES_TABLE).query_entities(
                "PartitionKey eq @p", parameters={"p": f"{month}~{department}"})
            return sorted((DeliveryRecord.from_entity(r) for r in rows), key=lambda r: (r.version, r.channel))
