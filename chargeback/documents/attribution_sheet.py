"""The "Users and tags" sheet of a department workbook: its top end users and tags (DESIGN.md v2 fields)."""
from __future__ import annotations

from openpyxl import Workbook

from chargeback.documents.workbook_style import SheetWriter, month_title, print_setup
from chargeback.usage.attribution_rollup import OTHERS, TAG, USER, AttributionRow

SHEET = "Users and tags"
_HEADER_ROW = 4
_TITLES = {USER: "End user", TAG: "Tag"}


def write_attribution_sheet(workbook: Workbook, month: str, department_name: str, rows: list[AttributionRow],
                            footer: str) -> None:
    """Add the sheet when the department's calls named users or tags; a month without them has no such sheet."""
    if not rows:
        return
    sheet = workbook.create_sheet(SHEET)
    out = SheetWriter(sheet)
    out.text(1, 1, SHEET, "cb-title", fit=False)
    out.text(2, 1, f"{department_name} · {month_title(month)} · the top end users and tags by tokens (input + "
             "output), measured, not priced; a call with several tags counts under each", "cb-subtitle", fit=False)
    out.header(_HEADER_ROW, [("Kind", "left"), ("Name", "left"), ("Requests", "right"), ("Tokens", "right")])
    row_number = _HEADER_ROW
    for row_number, row in enumerate(rows, start=_HEADER_ROW + 1):
        out.text(row_number, 1, _TITLES.get(row.kind, row.kind))
        out.text(row_number, 2, "All others" if row.label == OTHERS else row.label)
        out.number(row_number, 3, row.requests, "cb-tokens")
        out.number(row_number, 4, row.tokens, "cb-tokens")
    sheet.freeze_panes = sheet.cell(_HEADER_ROW + 1, 1)
    out.set_widths(minimum=11, maximum=60)
    print_setup(sheet, landscape=True, footer=footer, title_rows=f"{_HEADER_ROW}:{_HEADER_ROW}")
