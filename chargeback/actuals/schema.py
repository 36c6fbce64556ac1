"""What an export's columns mean: one ``ExportSchema`` per documented file kind, and the value parsers."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")          # 2026-10-01, 2026-10-01T00:00Z, ...T00:00:00Z
_US_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")       # 10/01/2026 (cost details files written by exports)
_UNIT = re.compile(r"\s*(\d+(?:\.\d+)?)?\s*([KkMm](?![a-z]))?\s*(.*?)\s*")


@dataclass(frozen=True)
class ExportSchema:
    """The columns one kind of export is read by; each role lists its column names, first present wins.

    Names compare case-insensitively: the EA file writes ``MeterName``, the MCA file ``meterName``.
    """

    name: str
    marker: str                       # a column only this kind of file has (how a header is recognised)
    resource: tuple[str, ...]
    meter: tuple[str, ...]            # several: the row's first non-empty value is its meter
    cost: tuple[str, ...]
    quantity: tuple[str, ...]
    unit: tuple[str, ...]
    currency: tuple[str, ...]
    day: tuple[str, ...]
    charge_class: tuple[str, ...] = ()      # FOCUS: "Correction" rows fix an earlier month's charges ...
    billing_period: tuple[str, ...] = ()    # ... and belong to the billing period that invoices them

    def required(self) -> dict[str, tuple[str, ...]]:
        """The roles a file must have a column for (unit is optional: block size 1 when absent)."""
        return {"resource": self.resource, "meter": self.meter, "cost": self.cost, "quantity": self.quantity,
                "currency": self.currency, "day": self.day}


@dataclass(frozen=True)
class ColumnMap:
    """Where each role's columns sit in one file's header: indexes and the names as the file spells them."""

    columns: dict[str, tuple[tuple[int, str], ...]]

    @classmethod
    def of(cls, schema: ExportSchema, header: Sequence[str]) -> ColumnMap:
        folded: dict[str, tuple[int, str]] = {}
        for index, name in enumerate(header):
            folded.setdefault(name.strip().casefold(), (index, name.strip()))
        roles = {"resource": schema.resource, "meter": schema.meter, "cost": schema.cost,
                 "quantity": schema.quantity, "unit": schema.unit, "currency": schema.currency, "day": schema.day,
                 "charge_class": schema.charge_class, "billing_period": schema.billing_period}
        return cls({role: tuple(folded[n.casefold()] for n in names if n.casefold() in folded)
                    for role, names in roles.items()})

    def missing(self, schema: ExportSchema) -> list[str]:
        return [" or ".join(names) for role, names in schema.required().items() if not self.columns[role]]

    def first(self, role: str, row: Sequence[str]) -> tuple[str, str]:
        """(value, column name) of the role's first column with a non-empty value in ``row`` ('' if none)."""
        found = self.columns[role]
        for index, name in found:
            value = row[index].strip() if index < len(row) else ""
            if value:
                return value, name
        return "", found[0][1] if found else role


def parse_amount(text: str) -> Decimal | None:
    """A finite decimal as the export wrote it (``1.5E-05`` included); None when it is not one."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_day(text: str) -> date | None:
    """The day of an ISO date/time (FOCUS) or of a US ``MM/DD/YYYY`` date (cost details); None otherwise."""
    text = text.strip()
    try:
        if match := _ISO_DAY.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _US_DAY.fullmatch(text.split(" ")[0]):
            return date(int(match[3]), int(match[1]), int(match[2]))
    except ValueError:
        return None
    return None


def unit_scale(unit: str) -> tuple[Decimal, str]:
    """(block size, base unit) of a unit of measure: ``1K`` -> (1000, ""), ``1M Tokens`` -> (1000000, "Tokens"),
    ``1 Hour`` -> (1, "Hour"). Azure OpenAI meters are sold in 1K / 1M token blocks (Retail Prices
    ``unitOfMeasure``; cost details ``UnitOfMeasure``), so quantities are compared in tokens."""
    match = _UNIT.fullmatch(unit)
    if match is None or not unit.strip():
        return Decimal(1), unit.strip()
    number = Decimal(match[1]) if match[1] else Decimal(1)
    scale = {"k": 1_000, "m": 1_000_000}.get((match[2] or "").lower(), 1)
    return number * scale, match[3]
