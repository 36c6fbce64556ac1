"""A department's invoice workbook: the Invoice sheet, then its usage per day and in detail."""
from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from openpyxl.utils import absolute_coordinate
from openpyxl.workbook.defined_name import DefinedName

from chargeback.billing import meter_rates
from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine
from chargeback.documents.actual_sections import write_actual_sections
from chargeback.documents.attribution_sheet import write_attribution_sheet
from chargeback.documents.invoice_lines import AMOUNT_COLUMN, PAYG_COLUMNS, POOL_COLUMNS, LineTables
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.documents.invoice_summary import write_gateway_logs_note, write_summary
from chargeback.documents.usage_sheets import write_usage_sheets
from chargeback.documents.workbook_style import (
    SheetWriter,
    month_title,
    new_workbook,
    period_text,
    print_setup,
    workbook_bytes,
)
from chargeback.money import format_money, quantum
from chargeback.usage.attribution_rollup import AttributionRow
from chargeback.usage.daily import DailyUsageRow

TOTAL_NAME = "InvoiceTotal"   # defined name of the total cell, for people and programs that read the file


def render_department_workbook(charges: MonthCharges, department_id: str, daily: list[DailyUsageRow],
                               meta: InvoiceMeta, attribution: list[AttributionRow] | None = None,
                               gateway_calls: dict[str, int] | None = None) -> bytes:
    """The .xlsx invoice of one department; same inputs, same bytes. ``gateway_calls``: deployment -> calls
    metered from the gateway logs, said on the first page (documents/invoice_summary.py)."""
    if meta.month != charges.month:
        raise ValueError(f"invoice metadata is for {meta.month}, the charges for {charges.month}")
    department = charges.department(department_id)
    if department is None:
        raise ValueError(f"no charges for department {department_id!r} in {charges.month}")
    number = meta.invoice_number(department_id)
    workbook = new_workbook(charges.minor_unit)
    sheet = workbook.create_sheet("Invoice")
    total_cell = _InvoiceSheet(SheetWriter(sheet), charges, department, meta, number, gateway_calls).write()
    workbook.defined_names[TOTAL_NAME] = DefinedName(TOTAL_NAME, attr_text=f"Invoice!{total_cell}")
    write_usage_sheets(workbook, charges.month, department.name, daily, footer=number, charges=department,
                       minor_unit=charges.minor_unit)
    write_attribution_sheet(workbook, charges.month, department.name, attribution or [], footer=number)
    return workbook_bytes(workbook, meta.issued_at, meta.issuer, f"Invoice {number}")


class _InvoiceSheet:
    def __init__(self, out: SheetWriter, charges: MonthCharges, department: DepartmentCharges,
                 meta: InvoiceMeta, number: str, gateway_calls: dict[str, int] | None = None):
        self.out, self.charges, self.department, self.meta, self.number = out, charges, department, meta, number
        self.gateway_calls = gateway_calls
        self.currency = charges.currency
        self.row = 0
        self.first_header: int | None = None

    def write(self) -> str:
        """Fill the sheet; returns the coordinate of the total cell."""
        self._heading()
        self.row = write_gateway_logs_note(self.out, self.gateway_calls, self.row)   # issue 15
        # Mode actual charges the actual lines, not the list-price ones (actual_sections.py)
        listed = self.department.true_up is not None or not self.department.actual_lines
        payg = [line for line in self.department.lines if isinstance(line, PaygLine) and listed]
        pools = [line for line in self.department.lines if isinstance(line, PoolLine) and listed]
        if listed:   # issue 13: by deployment and by model on the first page
            self.row = write_summary(self.out, self.department, self.currency, self.row)
        tables = LineTables(self.out, self.currency, self.row)
        if payg:
            tables.section("Pay-as-you-go usage", PAYG_COLUMNS, payg, tables.payg, "Pay-as-you-go total")
        if pools:
            tables.section("Provisioned throughput (PTU) pool shares", POOL_COLUMNS, pools, tables.pool,
                           "Pool shares total")
        self.row, self.first_header = tables.row, tables.first_header
        self.row = write_actual_sections(self.out, self.department, self.currency, self.row)
        if not payg and not pools and not self.department.actual_lines:
            self.row += 2
            self.out.text(self.row, 1, "No charges this month.", "cb-note", fit=False)
        total_cell = self._totals()
        self._not_charged()
        self._notes(pools)
        sheet = self.out.sheet
        sheet.freeze_panes = sheet.cell((self.first_header or 6) + 1, 1)   # below a table header or the heading
        self.out.set_widths(minimum=10, maximum=30)
        print_setup(sheet, landscape=True, footer=self.number)
        return total_cell

    def _heading(self) -> None:
        out, d, meta = self.out, self.department, self.meta
        out.text(1, 1, "Invoice", "cb-title", fit=False)
        if meta.revision:
            out.text(1, 3, f"REVISED · version {meta.version}", "cb-revised", fit=False)
        out.text(2, 1, meta.issuer, "cb-subtitle", fit=False)
        left: list[tuple[str, str | date]] = [("Invoice number", self.number), ("Issue date", meta.issue_date),
                ("Billing period", month_title(self.charges.month))]
        right = [("Department", d.name), ("Cost center", d.cost_center or "—"), ("Currency", self.currency)]
        for row, ((label, value), (label2, value2)) in enumerate(zip(left, right, strict=True), start=4):
            out.text(row, 1, label, "cb-label")
            if isinstance(value, str):
                out.text(row, 2, value, "cb-strong", fit=False)
            else:
                out.number(row, 2, value, "cb-date")
            out.text(row, 5, label2, "cb-label")
            out.text(row, 6, value2, "cb-strong", fit=False)
        out.text(4, AMOUNT_COLUMN - 2, f"Amount due ({self.currency})", "cb-label", fit=False)
        out.number(4, AMOUNT_COLUMN, d.total, "cb-grand-money")
        self.row = 4 + len(left)

    def _totals(self) -> str:
        out, d = self.out, self.department
        percent = format(self.charges.markup_percent.normalize(), "f")
        rows = [("Subtotal", d.subtotal, "cb-total-label", "cb-total-money", True),
                (f"Platform fee ({percent}% of subtotal)", d.markup, "cb-strong", "cb-money", False),
                (f"Total due ({self.currency})", d.total, "cb-grand-label", "cb-grand-money", True)]
        self.row += 1
        for label, amount, label_style, money_style, ruled in rows:
            self.row += 1
            out.text(self.row, 1, label, label_style, fit=False)
            if ruled:   # the rule runs across the table, not just under the figure
                for column in range(2, AMOUNT_COLUMN):
                    out.text(self.row, column, "", label_style, fit=False)
            out.number(self.row, AMOUNT_COLUMN, amount, money_style)
        coordinate: str = absolute_coordinate(out.sheet.cell(self.row, AMOUNT_COLUMN).coordinate)
        return coordinate

    def _not_charged(self) -> None:
        """Usage that costs nothing must still be seen: unpriced deployments and streams without usage."""
        out, dept = self.out, self.department.department
        unpriced = [u for u in self.charges.unpriced if u.department == dept]
        counted: Counter[str] = Counter()
        for line in self.department.lines:
            counted[line.deployment if isinstance(line, PaygLine) else line.pool] += line.unmetered
        for u in unpriced:
            counted[u.deployment] += u.unmetered
        unmetered = {k: v for k, v in sorted(counted.items()) if v}
        if not unpriced and not unmetered:
            return
        self.row += 2
        out.text(self.row, 1, "Usage not charged", "cb-section", fit=False)
        if unpriced:
            tables = LineTables(out, self.currency, self.row)
            tables.unpriced(unpriced)
            self.row = tables.row
        for deployment, count in unmetered.items():
            self.row += 1
            out.text(self.row, 1, f"{count:,} streamed request(s) on {deployment or '(no deployment)'} never "
                     "reported their usage: counted in Requests, not charged.", "cb-warning", fit=False)

    def _notes(self, pool_lines: list[PoolLine]) -> None:
        out, charges, currency = self.out, self.charges, self.currency
        step = format(quantum(currency), "f")
        notes = ["Each line lists the meters it used with their quantity, unit and rate; a meter without usage is "
                 "left out. Output tokens include reasoning tokens; audio is priced per hour, prorated per second.",
                 f"Each pay-as-you-go line sums all its meters exactly and is rounded once to "
                 f"{step} {currency} (half up)."]
        used = {(line.pool, line.period_start) for line in pool_lines}
        for pool in charges.pools:
            if (pool.deployment, pool.period_start) in used:
                notes.append(f"Pool {pool.deployment}, {period_text(pool.period_start, pool.period_end)}: cost "
                             f"{format_money(pool.cost, currency)} ({pool.basis}), shared by weighted use = "
                             f"{meter_rates.weights_text(pool.weights)}; "
                             f"shares are split to {step} {currency} and add up to the cost exactly.")
        if self.meta.revision:
            notes.append(f"This is version {self.meta.version} of this invoice; it replaces every earlier version."
                         + revision_text(self.meta, self.department.total, currency))
        notes.append(f"Priced with configuration {charges.config_fingerprint[:19]}… in run {self.meta.run_id}.")
        self.row += 2
        out.text(self.row, 1, "Notes", "cb-section", fit=False)
        for note in notes:
            self.row += 1
            out.text(self.row, 1, note, "cb-note", fit=False)


def revision_text(meta: InvoiceMeta, total: Decimal, currency: str) -> str:
    """" The earlier total was 110.00 USD; the difference is +3.02 USD (late usage)." or "" when unknown."""
    if meta.previous_total is None:
        return ""
    difference = total - meta.previous_total
    why = f" ({meta.revision_reason})" if meta.revision_reason else ""
    return (f" The earlier total was {format_money(meta.previous_total, currency)}; the difference is "
            f"{'+' if difference > 0 else ''}{format_money(difference, currency)}{why}.")
