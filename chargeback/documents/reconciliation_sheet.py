"""The finance summary's Reconciliation sheet (DESIGN.md "Actual bill"): per meter Azure billed, the quantity
measured at the gateway vs the quantity billed (the share that bypassed it), the list cost vs the actual
cost and the difference, with a warning beyond ``actuals.drift_warn_percent``. Written in every mode
when the month has actuals (``MonthCharges.reconciliation``, from ``billing/reconcile.py``).
"""
from __future__ import annotations

from decimal import Decimal

from chargeback.billing.charges import MonthCharges, ReconciledMeter
from chargeback.documents.workbook_style import SheetWriter, month_title, print_setup

SHEET = "Reconciliation"
_COLUMNS = [("Meter or pool", "left"), ("Azure meters", "left"), ("Measured at the gateway", "right"),
            ("Billed by Azure", "right"), ("Unit", "center"), ("Bypassed the gateway", "right"),
            ("List cost", "right"), ("Actual cost", "right"), ("Difference (actual − list)", "right"),
            ("Drift", "right"), ("", "left")]
_HUNDRED = Decimal(100)


def write_reconciliation(out: SheetWriter, charges: MonthCharges, footer: str) -> None:
    """One row per target, then totals of the list and actual costs and their difference."""
    currency = charges.currency
    out.text(1, 1, "Reconciliation with Azure's actual bill", "cb-title", fit=False)
    out.text(2, 1, f"{month_title(charges.month)} · invoiced in mode {charges.mode}; costs in {currency}. Pools "
             "compare weighted tokens measured with hours billed, so no bypass share is shown for them.",
             "cb-subtitle", fit=False)
    row = 4
    out.header(row, _COLUMNS)
    for meter in charges.reconciliation:
        row += 1
        _row(out, row, meter)
    row += 1
    out.text(row, 1, f"Total ({currency})", "cb-total-label", fit=False)
    for column in (2, 3, 4, 5, 6, 10, 11):
        out.text(row, column, "", "cb-total-label", fit=False)
    listed = sum((m.list_cost for m in charges.reconciliation), Decimal(0))
    actual = sum((m.actual_cost for m in charges.reconciliation), Decimal(0))
    for column, amount in ((7, listed), (8, actual), (9, actual - listed)):
        out.number(row, column, amount, "cb-total-money")
    out.sheet.freeze_panes = out.sheet.cell(5, 1)
    out.set_widths(minimum=10, maximum=34)
    print_setup(out.sheet, landscape=True, footer=footer, title_rows="4:4")


def _row(out: SheetWriter, row: int, meter: ReconciledMeter) -> None:
    out.text(row, 1, meter.target)
    out.text(row, 2, ", ".join(meter.meter_names))
    out.number(row, 3, meter.measured, _count(meter.measured))
    out.number(row, 4, meter.billed, _count(meter.billed))
    out.text(row, 5, meter.unit, "cb-centre")
    if meter.bypassed_percent is not None:   # a share: 0.139 shows as 13.9%
        out.number(row, 6, meter.bypassed_percent / _HUNDRED, "cb-percent")
    out.number(row, 7, meter.list_cost, "cb-money")
    out.number(row, 8, meter.actual_cost, "cb-money")
    out.number(row, 9, meter.difference, "cb-money")
    if meter.drift_percent is not None:
        out.number(row, 10, meter.drift_percent / _HUNDRED, "cb-percent")
    if meter.warn:
        out.text(row, 11, "Drift beyond the warning limit" if meter.drift_percent is not None or
                 meter.bypassed_percent is not None else "No list cost: all to unallocated", "cb-warning",
                 fit=False)


def _count(value: Decimal) -> str:
    return "cb-tokens" if value == value.to_integral_value() else "cb-decimal"
