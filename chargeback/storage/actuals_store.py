"""A month's actuals (Azure's actual bill, mapped to meters) in Table Storage: one entity per month.

One entity holds the whole month (its totals per target and per unmapped meter are small), so an
import replaces the month's set in a single write: a reader sees the old set or the new, never a mix.
"""
from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from chargeback.actuals.model import InvalidExport, MonthActuals
from chargeback.months import parse_month
from chargeback.storage.account import StorageAccount, storage_errors
from chargeback.storage.json_entity import from_properties, to_properties

ACTUALS_TABLE = "MonthActuals"
CURRENT = "current"


class ActualsStore:
    """Read and replace each month's imported actuals."""

    def __init__(self, account: StorageAccount):
        self.account = account

    @property
    def table(self) -> TableClient:
        return self.account.table(ACTUALS_TABLE)

    def save(self, actuals: MonthActuals) -> None:
        """Store the month's actuals, replacing whatever an earlier import stored for that month."""
        try:
            document = to_properties(actuals.to_dict())
        except ValueError:
            raise InvalidExport(actuals.source, f"maps to {len(actuals.unmapped):,} distinct unmapped meters, more "
                                "than one month's record holds; check actuals.resources") from None
        entity: dict[str, Any] = {
            "PartitionKey": parse_month(actuals.month), "RowKey": CURRENT, "Source": actuals.source[:500],
            "ContentSha256": actuals.content_sha256, "TotalCost": str(actuals.total_cost),
            "Currency": actuals.currency, **document}
        with storage_errors("storing the month's actuals"):
            self.table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def get(self, month: str) -> MonthActuals | None:
        """The month's actuals, or None if none were imported."""
        with storage_errors("reading the month's actuals"):
            try:
                entity = self.table.get_entity(parse_month(month), CURRENT)
            except ResourceNotFoundError:
                return None
        return MonthActuals.from_dict(from_properties(entity))

    def months(self) -> list[str]:
        """The months that have actuals, oldest first."""
        with storage_errors("listing months with actuals"):
            rows = self.table.query_entities("RowKey eq @r", parameters={"r": CURRENT}, select=["PartitionKey"])
            return sorted(r["PartitionKey"] for r in rows)
