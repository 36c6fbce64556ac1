"""The Invoice sheet's sections for Azure's actual bill (DESIGN.md "Actual bill").

Mode ``actual``: one line per meter and pool Azure billed, with the department's measured quantity, the
quantity Azure billed for everyone, the meter's actual cost and the department's part of it; these lines
are the charges. Mode ``true_up``: after the list-price lines, the true-up line (list-price lines, the
department's part of the actual bill, the difference), then the same per-meter lines as its explanation.
"""
from __future__ import annotations

from decimal import Decimal

from chargeback.billing import meter_rates
from chargeback.billing.charges import ActualLine, DepartmentCharges, TrueUpLine
from chargeback.documents.invoice_lines import AMOUNT_COLUMN, align
from chargeback.documents.workbook_style import SheetWriter

ACTUAL_COLUMNS = ["Deployment or pool", "Meter", "Azure meters", "Measured (you)", "Billed (everyone)", "Unit",
                  "Your share", "Actual cost of the meter", "", "", ""]
TRUE_UP_LABELS = ("List-price lines above", "Your part of Azure's actual bill", "True-up to Azure's actual bill")
_SHARE = Decimal("0.000001")


def write_actual_sections(out: SheetWriter, department: DepartmentCharges, currency: str, row: int) -> int:
    """Writes what the department's mode needs below ``row``; returns the last row written (``row`` if none)."""
    if department.true_up is not None:
        row = _true_up(out, department.true_up, currency, row)
    if department.actual_lines:
        title = ("Azure's actual cost, per meter" if department.true_up is None
                 else "How your part of Azure's actual bill was worked out, per meter")
        row = _actual_lines(out, department.actual_lines, currency, row, title)
    return row


def _true_up(out: SheetWriter, line: TrueUpLine, currency: str, row: int) -> int:
    row += 2
    out.text(row, 1, "True-up to Azure's actual bill", "cb-section", fit=False)
    row += 1
    out.text(row, 1, f"From the {line.source}: the list-price lines are kept and this line lands the subtotal "
             "on your part of what Azure billed.", "cb-note", fit=False)
    for label, amount, style in zip(TRUE_UP_LABELS, (line.list_subtotal, line.actual, line.amount),
                                    ("cb-money", "cb-money", "cb-total-money"), strict=True):
        row += 1
        out.text(row, 1, label, "cb-total-label" if style == "cb-total-money" else "cb-strong", fit=False)
        out.number(row, AMOUNT_COLUMN, amount, style)
    return row


def _actual_lines(out: SheetWriter, lines: tuple[ActualLine, ...], currency: str, row: int, title: str) -> int:
    row += 2
    out.text(row, 1, title, "cb-section", fit=False)
    row += 1
    out.header(row, [(c, align(i, c)) for i, c in enumerate(ACTUAL_COLUMNS)] + [(f"Amount ({currency})", "right")])
    for line in lines:
        row += 1
        _line(out, row, line)
    row += 1
    out.text(row, 1, "Your part of Azure's actual bill", "cb-total-label", fit=False)
    for column in range(2, AMOUNT_COLUMN):
        out.text(row, column, "", "cb-total-label", fit=False)
    out.number(row, AMOUNT_COLUMN, sum((line.amount for line in lines), Decimal(0)), "cb-total-money")
    return row


def _line(out: SheetWriter, row: int, line: ActualLine) -> None:
    if line.pool is not None:
        out.text(row, 1, line.pool)
        out.text(row, 2, "Provisioned throughput (by weighted use)")
    elif line.deployment is not None:
        out.text(row, 1, line.deployment)
        out.text(row, 2, meter_rates.label(str(line.meter)))
    else:
        out.text(row, 1, "(meters not in actuals.meters)")
        out.text(row, 2, "Unmapped: nobody's measured use")
    out.text(row, 3, ", ".join(line.meter_names) or "—")
    if line.pool is not None or line.deployment is not None:
        out.number(row, 4, line.measured, _count(line.measured))
        out.number(row, 5, line.billed, _count(line.billed))
        out.text(row, 6, _unit(line), "cb-centre")
    if line.actual_cost:
        out.number(row, 7, (line.amount / line.actual_cost).quantize(_SHARE), "cb-percent")
    out.number(row, 8, line.actual_cost, "cb-money")
    out.number(row, AMOUNT_COLUMN, line.amount, "cb-money")


def _unit(line: ActualLine) -> str:
    if line.pool is not None:
        return "weighted tokens"
    return meter_rates.counted_in(str(line.meter)).lower() if line.meter else line.unit


def _count(value: Decimal) -> str:
    return "cb-tokens" if value == value.to_integral_value() else "cb-decimal"
