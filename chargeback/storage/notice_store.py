"""Delivery records of invoice notices: one per month, department, invoice version and channel."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from chargeback.notices.delivery import INVOICE, DeliveryRecord
from chargeback.storage.account import StorageAccount, storage_errors

NOTICES_TABLE = "NoticeDeliveries"


def row_key(version: int, channel: str, kind: str = INVOICE) -> str:
    """An invoice notice's row is ``{version:05d}~{channel}`` (as always); another kind's ``{kind}~{channel}``."""
    return f"{version:05d}~{channel}" if kind == INVOICE else f"{kind}~{channel}"


def record_to_entity(record: DeliveryRecord) -> dict[str, Any]:
    return {"PartitionKey": f"{record.month}~{record.department}",
            "RowKey": row_key(record.version, record.channel, record.kind),
            "Status": record.status, "Attempts": record.attempts, "RunId": record.run_id, "At": record.at,
            "Revision": record.revision, "Error": record.error[:1000]}


def record_from_entity(e: Mapping[str, Any]) -> DeliveryRecord:
    month, department = e["PartitionKey"].split("~", 1)
    version, channel = e["RowKey"].split("~", 1)
    kind = INVOICE if version.isdigit() else version
    return DeliveryRecord(month=month, department=department, version=int(version) if kind == INVOICE else 0,
                          channel=channel, kind=kind,
                          status=e["Status"], attempts=int(e["Attempts"]), run_id=e["RunId"],
                          at=datetime.fromisoformat(e["At"].isoformat()), revision=bool(e.get("Revision", False)),
                          error=e.get("Error", ""))


class NoticeStore:
    """Read and write delivery records (Table Storage)."""

    def __init__(self, account: StorageAccount):
        self.account = account

    def get(self, month: str, department: str, version: int, channel: str,
            kind: str = INVOICE) -> DeliveryRecord | None:
        with storage_errors("reading a notice delivery"):
            try:
                entity = self.account.table(NOTICES_TABLE).get_entity(f"{month}~{department}",
                                                                      row_key(version, channel, kind))
            except ResourceNotFoundError:
                return None
        return record_from_entity(entity)

    def record(self, record: DeliveryRecord) -> None:
        """Upsert: a later outcome for the same version and channel replaces an earlier one."""
        with storage_errors("recording a notice delivery"):
            self.account.table(NOTICES_TABLE).upsert_entity(record_to_entity(record), mode=UpdateMode.REPLACE)

    def department(self, month: str, department: str) -> list[DeliveryRecord]:
        """Every delivery for a department's invoices of a month, oldest version first."""
        with storage_errors("listing notice deliveries"):
            rows = self.account.table(NOTICES_TABLE).query_entities(
                "PartitionKey eq @p", parameters={"p": f"{month}~{department}"})
            return sorted((record_from_entity(r) for r in rows), key=lambda r: (r.kind, r.version, r.channel))
