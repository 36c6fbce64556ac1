"""Mapping export rows to meters: each row's meter through ``actuals.meters``, totalled per target.

A fold over the rows (constant memory: one running total per target and per unmapped meter name).
Nothing is dropped: a row whose meter is not mapped is totalled under its meter name, and its cost
stays in the month's total (``actuals show`` lists it; allocation sends it to ``unallocated``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO

from chargeback.actuals.model import CostRow, InvalidExport, MappedCost, MonthActuals, UnmappedCost
from chargeback.actuals.read_export import ExportReader
from chargeback.config.actuals import ActualsConfig, MeterTarget
from chargeback.config.model import ChargebackConfig
from chargeback.errors import InvalidConfig

NO_METER = "(no meter name)"   # purchases and some adjustments carry none
MIXED = "mixed"


@dataclass
class _Running:
    cost: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    unit: str | None = None
    rows: int = 0
    names: set[str] = field(default_factory=set)

    def add(self, row: CostRow) -> None:
        self.cost += row.cost
        self.quantity += row.quantity
        self.rows += 1
        self.names.add(row.meter)
        self.unit = row.unit if self.unit in (None, row.unit) else MIXED


class ActualsTally:
    """Running totals of one month's kept rows, per ``actuals.meters`` target and per unmapped meter."""

    def __init__(self, actuals: ActualsConfig):
        self.actuals = actuals
        self.mapped: dict[str, tuple[MeterTarget, _Running]] = {}
        self.unmapped: dict[str, _Running] = {}

    def add(self, row: CostRow) -> None:
        target = self.actuals.target_for(row.meter) if row.meter else None
        if target is None:
            self.unmapped.setdefault(row.meter or NO_METER, _Running()).add(row)
        else:
            self.mapped.setdefault(target.key, (target, _Running()))[1].add(row)

    def add_all(self, rows: Iterable[CostRow]) -> ActualsTally:
        for row in rows:
            self.add(row)
        return self

    def mapped_costs(self) -> tuple[MappedCost, ...]:
        return tuple(MappedCost(target=key, deployment=t.deployment, meter=t.meter, pool=t.pool,
                                meter_names=tuple(sorted(r.names)), cost=r.cost, quantity=r.quantity,
                                unit=r.unit or "", rows=r.rows)
                     for key, (t, r) in sorted(self.mapped.items()))

    def unmapped_costs(self) -> tuple[UnmappedCost, ...]:
        return tuple(UnmappedCost(meter_name=name, cost=r.cost, quantity=r.quantity, unit=r.unit or "", rows=r.rows)
                     for name, r in sorted(self.unmapped.items(), key=lambda item: (-item[1].cost, item[0])))


def read_month_actuals(stream: IO[bytes], source: str, month: str, config: ChargebackConfig,
                       now: datetime | None = None) -> MonthActuals:
    """The month's actuals from one export (binary stream), for ``config``'s ``actuals.resources``.

    Raises ``InvalidExport`` (file, line, column) at the first bad row, having returned nothing.
    """
    return read_month_actuals_parts([(source, stream)], month, config, now)


def read_month_actuals_parts(parts: Iterable[tuple[str, IO[bytes]]], month: str, config: ChargebackConfig,
                             now: datetime | None = None) -> MonthActuals:
    """The month's actuals from an export written as several files (Cost Management partitions large
    exports), read one after the other into one set of totals; every part must be of the same kind."""
    actuals = config.actuals
    if actuals is None:
        raise InvalidConfig(["actuals: the config has no actuals section; add actuals.resources (the Azure "
                             "OpenAI resource ids) and actuals.meters, import it, then import the export"])
    tally = ActualsTally(actuals)
    readers: list[ExportReader] = []
    for source, stream in parts:
        reader = ExportReader(stream, source, month, keep=actuals.covers, currency=config.currency)
        tally.add_all(reader.rows())
        if readers and reader.export_format != readers[0].export_format:
            raise InvalidExport(source, f"is {reader.export_format}, but {readers[0].source} is "
                                f"{readers[0].export_format}: import the parts of one export together")
        readers.append(reader)
    if not readers:
        raise ValueError("no export to read")
    digest = (readers[0].content_sha256 if len(readers) == 1 else "sha256:" + hashlib.sha256(
        "\n".join(r.content_sha256 for r in readers).encode()).hexdigest())
    return MonthActuals(month=month, currency=config.currency, source=" + ".join(r.source for r in readers),
                        export_format=readers[0].export_format, content_sha256=digest,
                        rows_read=sum(r.rows_read for r in readers),
                        rows_kept=sum(r.rows for _, r in tally.mapped.values()) +
                        sum(r.rows for r in tally.unmapped.values()),
                        mapped=tally.mapped_costs(), unmapped=tally.unmapped_costs(),
                        imported_at=now or datetime.now(UTC))
