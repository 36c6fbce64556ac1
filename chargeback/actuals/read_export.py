"""Streaming a Cost Management export: one row at a time (a large tenant's month is gigabytes).

The kind of file is recognised by its header (FOCUS, or EA/MCA cost details). Gzip-compressed exports
are read as they are; Parquet is refused by name. Every refusal names the file, line and column.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO

from chargeback.actuals.model import CostRow, InvalidExport
from chargeback.actuals.read_cost_details import COST_DETAILS, cost_details_kind
from chargeback.actuals.read_focus import FOCUS, focus_version
from chargeback.actuals.schema import ColumnMap, ExportSchema, parse_amount, parse_day, unit_scale
from chargeback.months import parse_month

_GZIP, _PARQUET = b"\x1f\x8b", b"PAR1"
_FIELD_LIMIT = 16 * 1024 * 1024   # Tags / AdditionalInfo are JSON in one field; csv's default is 128 KiB


class _Hashing(io.RawIOBase):
    """Reads through to ``raw`` and hashes every byte read: the stored actuals name the file they came from."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.sha256 = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:   # type: ignore[override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.sha256.update(data)
        return len(data)


class ExportReader:
    """The rows of one export that belong to the kept resources; counts and format known once read."""

    def __init__(self, stream: IO[bytes], source: str, month: str, keep: Callable[[str], bool],
                 currency: str | None = None):
        self.source, self.month, self.keep, self.currency = source, parse_month(month), keep, currency
        self._hashing = _Hashing(stream)
        self.rows_read = 0
        self.export_format = ""
        year, number = int(month[:4]), int(month[5:])
        self._first = date(year, number, 1)
        self._next = date(year + number // 12, number % 12 + 1, 1)

    @property
    def content_sha256(self) -> str:
        return "sha256:" + self._hashing.sha256.hexdigest()

    def rows(self) -> Iterator[CostRow]:
        """Every kept row, in file order; raises ``InvalidExport`` at the first bad one."""
        csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
        reader = csv.reader(self._text())
        try:
            header = next(reader, None)
            if not header:
                raise InvalidExport(self.source, "is empty: expected a CSV header line", line=1)
            columns = self._schema(header)
            for row in reader:
                if not row:
                    continue
                self.rows_read += 1
                kept = self._row(reader.line_num, len(header), row, columns)
                if kept is not None:
                    yield kept
        except csv.Error as error:
            raise InvalidExport(self.source, f"is not a readable CSV file ({error})", line=reader.line_num) from None
        except UnicodeDecodeError:
            raise InvalidExport(self.source, "is not UTF-8 text (a CSV export is)", line=reader.line_num + 1) from None
        except (OSError, EOFError) as error:   # a truncated or corrupt .gz
            raise InvalidExport(self.source, f"could not be read to the end ({error})",
                                line=reader.line_num) from None

    def _text(self) -> io.TextIOWrapper:
        buffered = io.BufferedReader(self._hashing, buffer_size=1 << 20)
        magic = buffered.peek(4)[:4]
        if magic.startswith(_PARQUET):
            raise InvalidExport(self.source, "is a Parquet file; export the month as CSV (gzip is fine)")
        # utf-8-sig: exports may start with a byte order mark, which would otherwise stick to the first column
        if magic.startswith(_GZIP):
            return io.TextIOWrapper(gzip.GzipFile(fileobj=buffered), encoding="utf-8-sig", newline="")
        return io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")

    def _schema(self, header: list[str]) -> ColumnMap:
        names = {h.strip().casefold() for h in header}
        schema: ExportSchema
        if FOCUS.marker.casefold() in names:
            schema, self.export_format = FOCUS, focus_version(header)
        elif COST_DETAILS.marker.casefold() in names:
            schema, self.export_format = COST_DETAILS, cost_details_kind(header)
        else:
            raise InvalidExport(self.source, "is not a Cost Management export: its header has neither EffectiveCost "
                                "(FOCUS) nor CostInBillingCurrency (EA/MCA cost details)", line=1)
        columns = ColumnMap.of(schema, header)
        missing = columns.missing(schema)
        if missing:
            raise InvalidExport(self.source, f"{self.export_format} header lacks {', '.join(missing)}", line=1,
                                column=missing[0])
        return columns

    def _row(self, line: int, width: int, row: list[str], columns: ColumnMap) -> CostRow | None:
        if len(row) != width:
            raise InvalidExport(self.source, f"has {len(row)} fields where the header has {width} "
                                "(a cut or corrupted file?)", line=line)
        day = self._day(line, row, columns)
        resource, _ = columns.first("resource", row)
        if not self.keep(resource):
            return None
        cost_text, cost_column = columns.first("cost", row)
        cost = parse_amount(cost_text)
        if cost is None:
            problem = "is empty; every row needs a cost" if not cost_text else f"{cost_text[:40]!r} is not a number"
            raise InvalidExport(self.source, problem, line=line, column=cost_column)
        quantity_text, quantity_column = columns.first("quantity", row)
        quantity = parse_amount(quantity_text) if quantity_text else Decimal(0)
        if quantity is None:
            raise InvalidExport(self.source, f"{quantity_text[:40]!r} is not a number", line=line,
                                column=quantity_column)
        currency, currency_column = columns.first("currency", row)
        if not currency:
            raise InvalidExport(self.source, "is empty; every row needs its currency", line=line,
                                column=currency_column)
        if self.currency is not None and currency != self.currency:
            raise InvalidExport(self.source, f"is {currency}, but the config bills in {self.currency}: export "
                                "the month in the config's currency", line=line, column=currency_column)
        block, base = unit_scale(columns.first("unit", row)[0] if columns.columns["unit"] else "")
        meter, _ = columns.first("meter", row)
        return CostRow(line=line, resource_id=resource, meter=meter, cost=cost, quantity=quantity * block,
                       unit=base, currency=currency, day=day)

    def _day(self, line: int, row: list[str], columns: ColumnMap) -> date:
        text, column = columns.first("day", row)
        day = parse_day(text)
        if day is None:
            raise InvalidExport(self.source, f"{text[:40]!r} is not a date", line=line, column=column)
        if not self._first <= day < self._next and not self._corrects_into_month(row, columns):
            raise InvalidExport(self.source, f"{text} is not in {self.month}: export that month alone "
                                "(every row of the file must be of the month imported)", line=line, column=column)
        return day

    def _corrects_into_month(self, row: list[str], columns: ColumnMap) -> bool:
        """A FOCUS correction of an earlier month, invoiced in this month's billing period."""
        if not columns.columns["charge_class"] or columns.first("charge_class", row)[0].casefold() != "correction":
            return False
        billed = parse_day(columns.first("billing_period", row)[0]) if columns.columns["billing_period"] else None
        return billed is not None and self._first <= billed < self._next
