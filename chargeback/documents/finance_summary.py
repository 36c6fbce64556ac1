"""The month's finance summary workbook: what every department owes, how pools were shared, what was not charged."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from openpyxl.utils import absolute_coordinate
from openpyxl.workbook.defined_name import DefinedName

from chargeback.billing import meter_rates
from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.documents.reconciliation_sheet import SHEET as RECONCILIATION
from chargeback.documents.reconciliation_sheet import write_reconciliation
from chargeback.documents.workbook_style import (
    SheetWriter,
    month_title,
    new_workbook,
    period_text,
    print_setup,
    workbook_bytes,
)
from chargeback.money import format_money

GRAND_TOTAL_NAME = "GrandTotal"
_DEPARTMENT_COLUMNS = [("Department", "left"), ("Name", "left"), ("Cost center", "left"),
                       ("Invoice number", "left"), ("Pay-as-you-go", "right"), ("Pool shares", "right"),
                       ("Subtotal", "right"), ("Platform fee", "right")]
_SHARE_COLUMNS = [("Department", "left"), ("Name", "left"), ("Cost center", "left"), ("Requests", "right"),
                  ("Meters used (quantity × weight)", "left"), ("", "left"), ("", "left"),
                  ("Weighted tokens", "right"), ("Share of pool", "right")]
# One row per deployment and meter (DESIGN.md: unpriced usage is listed per deployment and meter).
_UNPRICED_COLUMNS = [("Department", "left"), ("Subscription", "left"), ("Deployment", "left"),
                     ("Models", "left"), ("Period", "left"), ("Requests", "right"),
                     ("Requests without usage", "right"), ("Meter", "left"), ("Quantity", "right"),
                     ("Unit", "center"), ("Why", "left")]


def render_finance_summary(charges: MonthCharges, meta: InvoiceMeta) -> bytes:
    """The .xlsx summary finance books from; same inputs, same bytes."""
    if meta.month != charges.month:
        raise ValueError(f"invoice metadata is for {meta.month}, the charges for {charges.month}")
    workbook = new_workbook(charges.minor_unit)
    footer = f"Chargeback summary {charges.month} v{meta.version}"
    total_cell = _summary_sheet(SheetWriter(workbook.create_sheet("Summary")), charges, meta, footer)
    workbook.defined_names[GRAND_TOTAL_NAME] = DefinedName(GRAND_TOTAL_NAME, attr_text=f"Summary!{total_cell}")
    _pools_sheet(SheetWriter(workbook.create_sheet("Pools")), charges, footer)
    _not_charged_sheet(SheetWriter(workbook.create_sheet("Not charged")), charges, footer)
    if charges.reconciliation:   # the month has actuals, whatever its mode
        write_reconciliation(SheetWriter(workbook.create_sheet(RECONCILIATION)), charges, footer)
    return workbook_bytes(workbook, meta.issued_at, meta.issuer, f"Chargeback summary {charges.month}")


def _title(out: SheetWriter, title: str, subtitle: str) -> None:
    out.text(1, 1, title, "cb-title", fit=False)
    out.text(2, 1, subtitle, "cb-subtitle", fit=False)


def _summary_sheet(out: SheetWriter, charges: MonthCharges, meta: InvoiceMeta, footer: str) -> str:
    currency = charges.currency
    _title(out, "Chargeback summary", meta.issuer)
    if meta.revision:
        out.text(1, 4, f"REVISED · version {meta.version}", "cb-revised", fit=False)
    facts: list[tuple[str, str | date]] = [("Billing period", month_title(charges.month)),
                                           ("Issue date", meta.issue_date),
             ("Currency", currency), ("Version", str(meta.version)), ("Run", meta.run_id),
             ("Configuration", charges.config_fingerprint)]
    for row, (label, value) in enumerate(facts, start=4):
        out.text(row, 1, label, "cb-label")
        if isinstance(value, str):
            out.text(row, 2, value, "cb-strong", fit=False)
        else:
            out.number(row, 2, value, "cb-date")
    row = 4 + len(facts) + 1
    out.header(row, [*_DEPARTMENT_COLUMNS, (f"Total ({currency})", "right")])
    header_row = row
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for d in charges.departments:
        row += 1
        payg, pool = _payg_and_pool(d)
        texts = (d.department, d.name, d.cost_center or "—", meta.invoice_number(d.department))
        for column, value in enumerate(texts, start=1):
            out.text(row, column, value)
        for column, amount in enumerate((payg, pool, d.subtotal, d.markup, d.total), start=5):
            out.number(row, column, amount, "cb-money")
        for key, amount in (("payg", payg), ("pool", pool), ("subtotal", d.subtotal), ("markup", d.markup)):
            sums[key] += amount
    row += 1
    out.text(row, 1, f"Grand total ({currency})", "cb-grand-label", fit=False)
    for column in (2, 3, 4):
        out.text(row, column, "", "cb-grand-label", fit=False)
    for column, key in enumerate(("payg", "pool", "subtotal", "markup"), start=5):
        out.number(row, column, sums[key], "cb-grand-money")
    out.number(row, 9, charges.grand_total, "cb-grand-money")   # as priced: the authoritative figure
    total_cell: str = absolute_coordinate(out.sheet.cell(row, 9).coordinate)
    row += 2
    out.text(row, 1, "Warnings", "cb-section", fit=False)
    for warning in charges.warnings or ("None: every token was priced or shared, every stream metered.",):
        row += 1
        out.text(row, 1, warning, "cb-warning" if charges.warnings else "cb-note", fit=False)
    out.sheet.freeze_panes = out.sheet.cell(header_row + 1, 1)
    out.set_widths(minimum=10, maximum=34)
    print_setup(out.sheet, landscape=True, footer=footer)
    return total_cell


def _payg_and_pool(d: DepartmentCharges) -> tuple[Decimal, Decimal]:
    """The two columns sum to the subtotal in every mode: at actual, the actual lines (pools apart); at
    true_up, the list-price lines with the true-up counted as pay-as-you-go (it settles usage, not capacity)."""
    if d.actual_lines and d.true_up is None:
        pool = sum((a.amount for a in d.actual_lines if a.pool is not None), Decimal(0))
        return d.subtotal - pool, pool
    payg = sum((line.amount for line in d.lines if isinstance(line, PaygLine)), Decimal(0))
    pool = sum((line.amount for line in d.lines if isinstance(line, PoolLine)), Decimal(0))
    return payg + (d.true_up.amount if d.true_up is not None else Decimal(0)), pool


def _pools_sheet(out: SheetWriter, charges: MonthCharges, footer: str) -> None:
    currency = charges.currency
    _title(out, "Provisioned throughput (PTU) pools", f"{month_title(charges.month)} · each pool's cost and how "
           "it was shared by weighted tokens; the shares add up to the cost exactly")
    names = {d.department: (d.name, d.cost_center) for d in charges.departments}
    row = 3
    if not charges.pools:
        out.text(row + 1, 1, "No pools were in effect this month.", "cb-note", fit=False)
    for pool in charges.pools:
        lines = {d.department: line for d in charges.departments for line in d.lines
                 if isinstance(line, PoolLine) and line.pool == pool.deployment
                 and line.period_start == pool.period_start}
        row += 1
        out.text(row, 1, f"{pool.deployment} · {period_text(pool.period_start, pool.period_end)}", "cb-section",
                 fit=False)
        row += 1
        out.text(row, 1, f"Cost {format_money(pool.cost, currency)}: {pool.basis}, {pool.hours:,} hours. "
                 f"Weighted tokens = {meter_rates.weights_text(pool.weights)}.", "cb-note", fit=False)
        row += 1
        out.header(row, [*_SHARE_COLUMNS, (f"Amount ({currency})", "right")])
        for department, amount in pool.shares.items():
            row += 1
            line = lines.get(department)
            name, cost_center = names.get(department, (department, ""))
            for column, value in enumerate((department, name, cost_center or "—"), start=1):
                out.text(row, column, value)
            if line is not None:
                out.number(row, 4, line.requests, "cb-tokens")
                out.text(row, 5, _meters_used(line), fit=False)
                out.number(row, 8, line.weighted_tokens, _weighted_style(line.weighted_tokens))
                out.number(row, 9, line.share, "cb-percent")
            out.number(row, 10, amount, "cb-money")
        row += 1
        out.text(row, 1, "Shares total", "cb-total-label", fit=False)
        for column in range(2, 8):
            out.text(row, column, "", "cb-total-label", fit=False)
        out.number(row, 8, pool.weighted_tokens, _weighted_style(pool.weighted_tokens).replace("cb-", "cb-total-"))
        out.text(row, 9, "", "cb-total-label", fit=False)
        out.number(row, 10, sum(pool.shares.values(), Decimal(0)), "cb-total-money")
        row += 1
        out.text(row, 1, "Pool cost", "cb-strong", fit=False)
        out.number(row, 10, pool.cost, "cb-money")
        row += 1
    out.set_widths(minimum=10, maximum=30)
    print_setup(out.sheet, landscape=True, footer=footer)


def _meters_used(line: PoolLine) -> str:
    """``Input tokens 200,000 × 1; Output tokens 50,000 × 4``: what the share was weighed from."""
    used = line.meters.used()
    return "; ".join(f"{meter_rates.label(m)} {q:,} × {format(line.weights.get(m, Decimal(0)).normalize(), 'f')}"
                     for m, q in used.items()) or "(none)"


def _weighted_style(value: Decimal) -> str:
    return "cb-tokens" if value == value.to_integral_value() else "cb-decimal"


def _not_charged_sheet(out: SheetWriter, charges: MonthCharges, footer: str) -> None:
    _title(out, "Usage not charged", f"{month_title(charges.month)} · per deployment and meter: usage with no "
           "price, pool or rate in effect, listed and not charged")
    row = 4
    out.header(row, _UNPRICED_COLUMNS)
    if not charges.unpriced:
        out.text(row + 1, 1, "None.", "cb-note", fit=False)
    for u in charges.unpriced:
        for meter, quantity in (u.meters.used() or {"": 0}).items():
            row += 1
            texts = (u.department, u.subscription, u.deployment or "(no deployment)", ", ".join(u.models),
                     period_text(u.first_day, u.last_day))
            for column, value in enumerate(texts, start=1):
                out.text(row, column, value)
            out.number(row, 6, u.requests, "cb-tokens")
            out.number(row, 7, u.unmetered, "cb-tokens")
            if meter:
                out.text(row, 8, meter_rates.label(meter))
                out.number(row, 9, quantity, _weighted_style(Decimal(quantity)))
                out.text(row, 10, meter_rates.counted_in(meter).lower(), "cb-centre")
            out.text(row, 11, (u.reason or "no price or pool in effect").capitalize(), "cb-warning", fit=False)
    out.sheet.freeze_panes = out.sheet.cell(5, 1)
    out.set_widths(minimum=10, maximum=30)
    print_setup(out.sheet, landscape=True, footer=footer, title_rows="4:4")
