"""Month-to-date rollups: each usage partition's aggregate as of a watermark, and the month priced so far.

Table ``UsageRollups`` holds one row per usage partition (PartitionKey the month, RowKey the partition) with
the partition-index ETag it was read under (chargeback/storage/usage_table.UsageStore.watermarks) and the
blob of its aggregate (``rollups/{month}/parts/{partition}.json``, MonthUsage.to_dict). A refresh reads a
partition again only when its index ETag differs, so its cost follows the partitions written since. The
month-end run can merge these aggregates instead of reading the month (``month_usage``).
The priced month so far is one blob, ``rollups/{month}/month_to_date.json``.
"""
from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.documents import DocumentStore
from chargeback.usage.aggregation import MonthUsage

ROLLUP_TABLE = "UsageRollups"
ROLLUPS = "rollups"


def part_blob(month: str, partition: str) -> str:
    return f"{month}/parts/{partition}.json"


class RollupStore:
    """Partition aggregates with their watermarks, and the month-to-date document."""

    def __init__(self, account: StorageAccount):
        self.account = account
        self.documents = DocumentStore(account)

    def watermarks(self, month: str) -> dict[str, str]:
        """partition -> the index ETag its stored aggregate was read under."""
        with storage_errors(f"listing rollups of {month}"):
            rows = self.account.table(ROLLUP_TABLE).query_entities(
                "PartitionKey eq @m", parameters={"m": month}, select=["RowKey", "Watermark"])
            return {row["RowKey"]: row["Watermark"] for row in rows}

    def put_part(self, month: str, partition: str, watermark: str, usage: MonthUsage) -> None:
        """Blob first, row second: a row never names an aggregate that is not there yet."""
        self.documents.put_json(ROLLUPS, part_blob(month, partition), usage.to_dict())
        with storage_errors(f"recording the rollup of {partition}"):
            self.account.table(ROLLUP_TABLE).upsert_entity(
                {"PartitionKey": month, "RowKey": partition, "Watermark": watermark})

    def part(self, month: str, partition: str) -> MonthUsage:
        return MonthUsage.from_dict(self.documents.get_json(ROLLUPS, part_blob(month, partition)))

    def month_usage(self, month: str) -> MonthUsage:
        """The month's usage as of the last refresh: every partition's aggregate merged."""
        usage = MonthUsage(month)
        for partition in sorted(self.watermarks(month)):
            usage.merge(self.part(month, partition))
        return usage

    def put_month_to_date(self, month: str, document: dict[str, Any]) -> None:
        self.documents.put_json(ROLLUPS, f"{month}/month_to_date.json", document)

    def month_to_date(self, month: str) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = self.documents.get_json(ROLLUPS, f"{month}/month_to_date.json")
        except (FileNotFoundError, ResourceNotFoundError):
            return None
        return document
