"""The usage sheets of a department workbook: cost per day per deployment (with a chart), and the detail."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from chargeback.billing import meter_rates
from chargeback.billing.charges import DepartmentCharges
from chargeback.documents.daily_cost import daily_cost
from chargeback.documents.workbook_style import SheetWriter, money_format, month_title, print_setup
from chargeback.months import month_bounds
from chargeback.usage.daily import DailyUsageRow
from chargeback.usage.meters import METERS

_HEADER_ROW = 4


def write_usage_sheets(workbook: Workbook, month: str, department_name: str, rows: list[DailyUsageRow],
                       footer: str, charges: DepartmentCharges | None = None, minor_unit: int = 2) -> None:
    """Add "Daily usage" (cost per day x deployment and a stacked bar chart) and "Usage detail"."""
    subtitle = f"{department_name} · {month_title(month)}"
    _daily_sheet(workbook, month, subtitle, rows, footer, charges, minor_unit)
    _detail_sheet(workbook, subtitle, rows, footer)


def _daily_sheet(workbook: Workbook, month: str, subtitle: str, rows: list[DailyUsageRow], footer: str,
                 charges: DepartmentCharges | None, minor_unit: int) -> None:
    sheet = workbook.create_sheet("Daily usage")
    out = SheetWriter(sheet)
    out.text(1, 1, "Daily usage", "cb-title", fit=False)
    out.text(2, 1, f"{subtitle} · cost per day and deployment: each deployment's invoice lines split by the "
                   "day's use (markup and true-up not included)", "cb-subtitle", fit=False)
    print_setup(sheet, landscape=True, footer=footer, title_rows=f"{_HEADER_ROW}:{_HEADER_ROW}")
    tokens, undated = daily_cost(charges, rows, Decimal(1).scaleb(-minor_unit))
    deployments = sorted({deployment for _, deployment in tokens})
    if not deployments:
        out.text(_HEADER_ROW, 1, "No charged usage this month.", "cb-note", fit=False)
        return
    out.header(_HEADER_ROW, [("Day", "left")] + [(d or "(no deployment)", "right") for d in deployments]
               + [("Total", "right")])
    first_day, next_first_day = month_bounds(month)
    row_number, day = _HEADER_ROW, first_day
    zero = Decimal(0)
    totals = [zero] * len(deployments)
    while day < next_first_day:
        row_number += 1
        out.number(row_number, 1, day, "cb-day")
        for index, deployment in enumerate(deployments):
            count = tokens.get((day, deployment), zero)
            totals[index] += count
            out.number(row_number, index + 2, count, "cb-money")
        out.number(row_number, len(deployments) + 2, sum((tokens.get((day, d), zero) for d in deployments), zero),
                   "cb-money")
        day += timedelta(days=1)
    last_day_row = row_number
    if undated:
        row_number += 1
        out.text(row_number, 1, "Not by day", "cb-note")
        out.number(row_number, len(deployments) + 2, undated, "cb-money")
    out.text(row_number + 1, 1, "Total", "cb-total-label")
    for index, total in enumerate([*totals, sum(totals, zero) + undated]):
        out.number(row_number + 1, index + 2, total, "cb-total-money")
    sheet.freeze_panes = sheet.cell(_HEADER_ROW + 1, 2)
    out.set_widths(minimum=11, maximum=24)
    sheet.add_chart(_chart(sheet, len(deployments), last_day_row, minor_unit),
                    sheet.cell(_HEADER_ROW, len(deployments) + 4).coordinate)


def _chart(sheet: Worksheet, deployments: int, last_day_row: int, minor_unit: int) -> BarChart:
    """Stacked columns, one series per deployment, one column per day."""
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "Cost per day by deployment"
    chart.y_axis.title = "Cost"
    chart.y_axis.numFmt = money_format(minor_unit)
    chart.x_axis.number_format = "d"
    chart.x_axis.delete = chart.y_axis.delete = False   # recent Excel hides axes openpyxl leaves unset
    chart.legend.position = "b"
    chart.gapWidth = 40
    chart.width, chart.height = 24, 12
    data = Reference(sheet, min_col=2, max_col=deployments + 1, min_row=_HEADER_ROW, max_row=last_day_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=_HEADER_ROW + 1, max_row=last_day_row))
    return chart


_DETAIL = [("Day", "left"), ("Deployment", "left"), ("Requests", "right"), ("Requests without usage", "right")]


def _detail_sheet(workbook: Workbook, subtitle: str, rows: list[DailyUsageRow], footer: str) -> None:
    sheet = workbook.create_sheet("Usage detail")
    out = SheetWriter(sheet)
    out.text(1, 1, "Usage detail", "cb-title", fit=False)
    out.text(2, 1, f"{subtitle} · one column per meter used; output tokens include reasoning", "cb-subtitle",
             fit=False)
    # the meters this department used this month, in the usual order: no column of zeros
    meters = [m for m in METERS if any(row.meters.quantity(m) for row in rows)]
    out.header(_HEADER_ROW, [*_DETAIL, *((meter_rates.label(m), "right") for m in meters),
                             ("Reasoning tokens", "right")])
    totals: list[int | Decimal] = [0] * (len(meters) + 3)
    row_number = _HEADER_ROW
    for row_number, row in enumerate(rows, start=_HEADER_ROW + 1):
        out.number(row_number, 1, row.day, "cb-date")
        out.text(row_number, 2, row.deployment or "(no deployment)")
        counts = (row.requests, row.unmetered, *(row.meters.quantity(m) for m in meters), row.reasoning_tokens)
        for index, count in enumerate(counts):
            totals[index] += count
            out.number(row_number, index + 3, count, "cb-tokens" if count == int(count) else "cb-decimal")
    out.text(row_number + 1, 1, "Total", "cb-total-label")
    out.text(row_number + 1, 2, "", "cb-total-label")
    for index, total in enumerate(totals):
        out.number(row_number + 1, index + 3, total, "cb-total-tokens" if total == int(total) else "cb-total-decimal")
    sheet.freeze_panes = sheet.cell(_HEADER_ROW + 1, 1)
    out.set_widths(minimum=11, maximum=30)
    print_setup(sheet, landscape=True, footer=footer, title_rows=f"{_HEADER_ROW}:{_HEADER_ROW}")   # as every sheet
