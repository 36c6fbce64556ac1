"""The invoice index: per month and department the latest invoice, plus every version and every run."""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.entity_groups import transactions
from chargeback.storage.usage_table import _submit

INDEX_TABLE, VERSIONS_TABLE, RUNS_TABLE = "InvoiceIndex", "InvoiceVersions", "InvoiceRuns"


def entry_to_entity(entry: InvoiceEntry) -> dict[str, Any]:
    return {"PartitionKey": entry.month, "RowKey": entry.department, "Name": entry.name, "Total": str(entry.total),
            "Currency": entry.currency, "Version": entry.version, "Blob": entry.blob,
            "InvoiceNumber": entry.invoice_number, "RunId": entry.run_id, "GeneratedAt": entry.generated_at,
            "Revision": entry.revision, "ContentHash": entry.content_hash}


def entry_from_entity(e: Mapping[str, Any], month: str | None = None, department: str | None = None) -> InvoiceEntry:
    return InvoiceEntry(month=month or e["PartitionKey"], department=department or e["RowKey"], name=e["Name"],
                        total=Decimal(e["Total"]), currency=e["Currency"], version=int(e["Version"]), blob=e["Blob"],
                        invoice_number=e["InvoiceNumber"], run_id=e["RunId"],
                        generated_at=datetime.fromisoformat(e["GeneratedAt"].isoformat()),
                        revision=bool(e["Revision"]), content_hash=e["ContentHash"])


class InvoiceIndex:
    def __init__(self, account: StorageAccount):
        self.account = account

    def latest(self, month: str, department: str) -> InvoiceEntry | None:
        with storage_errors("reading the invoice index"):
            try:
                return entry_from_entity(self.account.table(INDEX_TABLE).get_entity(month, department))
            except ResourceNotFoundError:
                return None

    def latest_many(self, month: str, departments: list[str]) -> dict[str, InvoiceEntry]:
        """The latest invoice of each of ``departments`` that has one, in one range query of the month's
        partition (a render batch's departments instead of a point read each; issue 17)."""
        if not departments:
            return {}
        wanted = set(departments)
        with storage_errors("reading the invoice index"):
            rows = self.account.table(INDEX_TABLE).query_entities(
                "PartitionKey eq @m and RowKey ge @lo and RowKey le @hi",
                parameters={"m": month, "lo": min(wanted), "hi": max(wanted)})
            return {e.department: e for e in map(entry_from_entity, rows) if e.department in wanted}

    def month(self, month: str) -> list[InvoiceEntry]:
        with storage_errors("reading the invoice index"):
            rows = self.account.table(INDEX_TABLE).query_entities("PartitionKey eq @m", parameters={"m": month})
            return sorted((entry_from_entity(r) for r in rows), key=lambda e: e.department)

    def versions(self, month: str, department: str) -> list[InvoiceEntry]:
        with storage_errors("reading invoice versions"):
            rows = self.account.table(VERSIONS_TABLE).query_entities(
                "PartitionKey eq @p", parameters={"p": f"{month}~{department}"})
            return sorted((entry_from_entity(r, month, department) for r in rows), key=lambda e: e.version)

    def record(self, entries: list[InvoiceEntry]) -> None:
        """Upsert each entry as a version, then as the month's latest (idempotent): every version row is
        written before any index row points at it. The index rows of a month share its partition, so they
        go as entity-group transactions (entity_groups.transactions; $batch retried on connection errors as the
        other stores' writes; issue 17)."""
        with storage_errors("writing the invoice index"):
            for entry in entries:
                version_row = {**entry_to_entity(entry), "PartitionKey": f"{entry.month}~{entry.department}",
                               "RowKey": f"{entry.version:05d}"}
                self.account.table(VERSIONS_TABLE).upsert_entity(version_row, mode=UpdateMode.REPLACE)
            index = self.account.table(INDEX_TABLE)
            for chunk in transactions(entry_to_entity(entry) for entry in entries):
                _submit(index, chunk)

    def record_run(self, month: str, run_id: str, summary: dict[str, Any]) -> None:
        with storage_errors("recording the invoicing run"):
            self.account.table(RUNS_TABLE).upsert_entity(
                {"PartitionKey": month, "RowKey": run_id, "Summary": json.dumps(summary, default=str)[:30_000]},
                mode=UpdateMode.REPLACE)
