"""A month's actual cost from Azure Cost Management: per mapped meter or pool, and every unmapped meter."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chargeback.errors import ChargebackError

ZERO = Decimal(0)


class InvalidExport(ChargebackError):
    """A Cost Management export that was refused; names the file, line and column, and nothing is stored."""

    def __init__(self, source: str, problem: str, line: int | None = None, column: str | None = None):
        where = "".join([f", line {line}" if line is not None else "", f", column {column}" if column else ""])
        super().__init__(f"{source}{where}: {problem}")
        self.source, self.line, self.column, self.problem = source, line, column, problem


@dataclass(frozen=True, slots=True)
class CostRow:
    """One export row of a configured resource, normalised: billed quantity in base units (tokens, hours)."""

    line: int
    resource_id: str
    meter: str              # Cost Management meter name; empty for purchases
    cost: Decimal           # the amount that counts (FOCUS EffectiveCost, or CostInBillingCurrency)
    quantity: Decimal       # billed quantity x the unit's block size (1K -> x 1,000)
    unit: str               # the base unit left after the block size, e.g. "Tokens", "Hour", "" (plain count)
    currency: str
    day: date


@dataclass(frozen=True)
class MappedCost:
    """The actual cost of one ``actuals.meters`` target (a deployment meter or a pool) in the month."""

    target: str                      # MeterTarget.key: "deployment/meter" or "pool:deployment"
    deployment: str | None
    meter: str | None
    pool: str | None
    meter_names: tuple[str, ...]     # the Cost Management meter names that mapped here
    cost: Decimal
    quantity: Decimal
    unit: str
    rows: int


@dataclass(frozen=True)
class UnmappedCost:
    """Rows of the configured resources whose meter ``actuals.meters`` does not map, grouped by meter name."""

    meter_name: str
    cost: Decimal
    quantity: Decimal
    unit: str
    rows: int


@dataclass(frozen=True)
class MonthActuals:
    """What Azure billed the configured resources in one month, as imported from one export file."""

    month: str
    currency: str
    source: str                      # the file's name as given to the import
    export_format: str               # e.g. "FOCUS 1.2", "EA cost details"
    content_sha256: str              # of the file's bytes: which export this was
    rows_read: int                   # data rows in the file
    rows_kept: int                   # rows of the configured resources
    mapped: tuple[MappedCost, ...]
    unmapped: tuple[UnmappedCost, ...]
    imported_at: datetime | None = None

    @property
    def mapped_cost(self) -> Decimal:
        return sum((m.cost for m in self.mapped), ZERO)

    @property
    def unmapped_cost(self) -> Decimal:
        return sum((u.cost for u in self.unmapped), ZERO)

    @property
    def total_cost(self) -> Decimal:
        """The month's actual cost of the configured resources: mapped and unmapped together."""
        return self.mapped_cost + self.unmapped_cost

    def for_target(self, target: str) -> MappedCost | None:
        return next((m for m in self.mapped if m.target == target), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, exact: amounts and quantities as text."""
        return {
            "month": self.month, "currency": self.currency, "source": self.source,
            "export_format": self.export_format, "content_sha256": self.content_sha256,
            "rows_read": self.rows_read, "rows_kept": self.rows_kept,
            "imported_at": self.imported_at.isoformat() if self.imported_at else None,
            "total_cost": str(self.total_cost), "mapped_cost": str(self.mapped_cost),
            "unmapped_cost": str(self.unmapped_cost),
            "mapped": [{"target": m.target, "deployment": m.deployment, "meter": m.meter, "pool": m.pool,
                        "meter_names": list(m.meter_names), "cost": str(m.cost), "quantity": str(m.quantity),
                        "unit": m.unit, "rows": m.rows} for m in self.mapped],
            "unmapped": [{"meter_name": u.meter_name, "cost": str(u.cost), "quantity": str(u.quantity),
                          "unit": u.unit, "rows": u.rows} for u in self.unmapped],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonthActuals:
        """Inverse of ``to_dict`` (the totals there are derived, not read back)."""
        imported = data.get("imported_at")
        return cls(
            month=data["month"], currency=data["currency"], source=data["source"],
            export_format=data["export_format"], content_sha256=data["content_sha256"],
            rows_read=int(data["rows_read"]), rows_kept=int(data["rows_kept"]),
            imported_at=datetime.fromisoformat(imported) if imported else None,
            mapped=tuple(MappedCost(target=m["target"], deployment=m["deployment"], meter=m["meter"],
                                    pool=m["pool"], meter_names=tuple(m["meter_names"]), cost=Decimal(m["cost"]),
                                    quantity=Decimal(m["quantity"]), unit=m["unit"], rows=int(m["rows"]))
                         for m in data["mapped"]),
            unmapped=tuple(UnmappedCost(meter_name=u["meter_name"], cost=Decimal(u["cost"]),
                                        quantity=Decimal(u["quantity"]), unit=u["unit"], rows=int(u["rows"]))
                           for u in data["unmapped"]))
