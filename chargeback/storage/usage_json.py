"""A usage row as the Table service's JSON sends it (minimal metadata), as a record, for the delta read.

The rows come from a query whose ``$select`` is ``usage_table.AGGREGATION_COLUMNS`` (chargeback/storage/
usage_delta): the record has the selected columns and the defaults of the others, as
``usage_table.entity_to_record`` makes it of the same row read through the SDK (tests/integration/
test_usage_delta_rows.py compares the two aggregates for every kind of row). The service leaves a property
the row does not have out of the JSON (or sends null where a ``$select`` names it: read as absent); Edm.Int64
values come as text ("Payload format for Table service operations": the JSON number type cannot hold them),
``audio_seconds`` is stored as text, Edm.DateTime as ISO 8601 text in UTC.
A row from the first release (text token columns) is read by ``usage_table.entity_to_record`` itself.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chargeback.storage.usage_table import METER_COLUMNS, entity_to_record
from chargeback.usage.meters import FIELDS, NO_USAGE, MeterQuantities
from chargeback.usage.record import UsageRecord

# Each meter column with its quantity's position in FIELDS order, and the quantities of a row without meters.
_METER_AT = {METER_COLUMNS[meter]: index for index, meter in enumerate(FIELDS)}
_AUDIO_SECONDS_AT = FIELDS.index("audio_seconds")
_ZEROS: tuple[int | Decimal, ...] = tuple(Decimal(0) if index == _AUDIO_SECONDS_AT else 0
                                          for index in range(len(FIELDS)))


def row_record(row: dict[str, Any]) -> UsageRecord:
    """The record of one row (its dict is not changed)."""
    if row.get("PromptTokens") is not None:   # before meters: the table module's own reading
        return entity_to_record({**row, "EventTime": event_time(row["EventTime"])})
    quantities: list[int | Decimal] | None = None
    for column in _METER_AT.keys() & row.keys():   # the row's few meter columns (a set operation, in C)
        value = row[column]
        if value is not None:
            if quantities is None:
                quantities = list(_ZEROS)
            index = _METER_AT[column]
            quantities[index] = Decimal(value) if index == _AUDIO_SECONDS_AT else int(value)
    tags = row.get("Tags")
    return UsageRecord(
        row["RowKey"], event_time(row["EventTime"]), row["Subscription"], row.get("Deployment", ""),
        metered=row.get("Metered", True), stream=row.get("Stream", False), model=row.get("Model", ""),
        schema_version=row.get("SchemaVersion", 2),
        meters=NO_USAGE if quantities is None else MeterQuantities(*quantities),  # type: ignore[arg-type]
        end_user=row.get("EndUser") or "", tags=tuple(tags.split(",")) if tags else (),
        served_deployment=row.get("ServedDeployment") or "")


def event_time(text: str) -> datetime:
    """An Edm.DateTime as the service writes it ("2026-10-31T15:23:29.074Z", up to 7 fraction digits: Python
    3.11's fromisoformat keeps 6), as an aware UTC datetime."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is UTC:   # "Z" is read as datetime.UTC itself
        return at
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
