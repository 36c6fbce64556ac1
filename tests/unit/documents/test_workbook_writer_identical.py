"""The faster workbook path writes the very bytes openpyxl's own path wrote (issue 17, per-department cost).

The old path, restored here piece by piece: named styles registered on every new workbook, every cell made,
filled and styled through openpyxl's ``sheet.cell``, ``cell.value`` and ``cell.style = name`` (the old
SheetWriter.text and .number, verbatim), and openpyxl's ``ExcelWriter`` (ElementTree per cell, worksheets
through temporary files, the stylesheet written each time). The new path: a template's style lists, cells made
directly with cached style arrays, ``LeanExcelWriter`` (documents/workbook_writer.py, workbook_template.py).
"""
from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.writer.excel import ExcelWriter

from chargeback.documents import finance_summary, invoice_workbook, workbook_style
from chargeback.documents.finance_summary import render_finance_summary
from chargeback.documents.invoice_workbook import render_department_workbook
from chargeback.documents.safe_text import starts_formula
from chargeback.documents.workbook_style import SheetWriter, cell_text, new_workbook, workbook_bytes
from chargeback.documents.workbook_writer import LeanExcelWriter
from chargeback.usage.attribution_rollup import TAG, USER, AttributionRow
from tests.fixtures.invoice_inputs import GOLDEN, generated_month, golden_month, hand_month, meta

ISSUED = meta().issued_at


class OldPath:
    """Counts what the restored old path did, so a comparison can not pass by never taking it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.workbooks = self.cells = self.saves = 0

        def new(minor_unit: int) -> Workbook:   # the old new_workbook, verbatim
            self.workbooks += 1
            workbook = Workbook()
            for style in workbook_style._styles(minor_unit):
                workbook.add_named_style(style)
            workbook.remove(workbook.active)
            return workbook

        def text(writer: SheetWriter, row, column, value, style="cb-text", fit=True) -> None:   # verbatim
            self.cells += 1
            text = cell_text(value)
            cell = writer.sheet.cell(row, column)
            cell.value = text
            cell.data_type = "s"
            cell.style = style
            if starts_formula(text):
                cell.quotePrefix = True
            if fit:
                writer._fit(column, max(map(len, text.split("\n"))) if "\n" in text else len(text))

        def number(writer: SheetWriter, row, column, value, style) -> None:   # verbatim
            self.cells += 1
            cell = writer.sheet.cell(row, column)
            cell.style = style
            cell.value = value
            writer._fit(column, 11 if isinstance(value, date) else len(f"{value:,}") + 1)

        outer = self

        class CountingExcelWriter(ExcelWriter):
            def save(self) -> None:
                outer.saves += 1
                super().save()

        monkeypatch.setattr(invoice_workbook, "new_workbook", new)
        monkeypatch.setattr(finance_summary, "new_workbook", new)
        monkeypatch.setattr(SheetWriter, "text", text)
        monkeypatch.setattr(SheetWriter, "number", number)
        monkeypatch.setattr(workbook_style, "WRITER", CountingExcelWriter)


def _render_all(month, attribution=None, gateway=None) -> dict[str, bytes]:
    charges, daily = month[0], month[1]
    found = {}
    for dept in charges.departments:
        for revision in (False, True):
            found[f"{dept.department}/{revision}"] = render_department_workbook(
                charges, dept.department, daily.get(dept.department, []),
                meta(charges.month, version=2 if revision else 1, revision=revision),
                attribution, gateway)
    found["finance summary"] = render_finance_summary(charges, meta(charges.month))
    return found


def _both_paths(monkeypatch: pytest.MonkeyPatch, render) -> tuple[dict[str, bytes], dict[str, bytes], OldPath]:
    new = render()
    with monkeypatch.context() as patch:
        old_path = OldPath(patch)
        old = render()
    return new, old, old_path


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_every_golden_month_writes_the_same_bytes(monkeypatch, path):
    month = golden_month(path)
    new, old, old_path = _both_paths(monkeypatch, lambda: _render_all(month))
    assert old_path.saves == len(old) and old_path.workbooks == len(old) and old_path.cells > 50 * len(old)
    assert [name for name in new if new[name] != old[name]] == []


def test_hand_and_generated_months_with_users_tags_and_gateway_notes_write_the_same_bytes(monkeypatch):
    attribution = [AttributionRow(USER, "alice@contoso.com", 3, 1200), AttributionRow(TAG, "app=bot", 2, 50),
                   AttributionRow(USER, " spaced & <odd> ", 1, 7)]
    for month in (hand_month(), generated_month(departments=3, events=900)):
        new, old, old_path = _both_paths(monkeypatch, lambda m=month: _render_all(m, attribution, {"gpt-4o": 12}))
        assert old_path.saves == len(old)
        assert [name for name in new if new[name] != old[name]] == []


def test_the_comparison_sees_a_one_cell_difference(monkeypatch):
    """Guard for the comparison itself: one changed value on a sheet shows as different bytes."""
    charges, daily, _ = hand_month()
    first = render_department_workbook(charges, "marketing", daily["marketing"], meta())
    monkeypatch.setattr(invoice_workbook, "TOTAL_NAME", "InvoiceTotal2")
    assert render_department_workbook(charges, "marketing", daily["marketing"], meta()) != first


def _sheet_with(kind: str) -> Workbook:
    workbook = new_workbook(2)
    out = SheetWriter(workbook.create_sheet("S"))
    out.text(1, 1, "  leading and trailing  ")
    out.text(2, 1, 'a & b < c > d "e"\nline two', "cb-wrap")
    out.number(3, 1, date(2026, 10, 3), "cb-date")
    out.number(3, 2, Decimal("1371.16"), "cb-money")
    sheet = out.sheet
    sheet.row_dimensions[4].height = 31
    if kind == "formula":
        sheet["C3"] = "=SUM(A3:B3)"
    elif kind == "comment":
        sheet["C1"].comment = Comment("a note", "someone")
    elif kind == "hyperlink":
        sheet["C2"].hyperlink = "https://example.com/x?a=1&b=2"
    return workbook


def _bytes(workbook: Workbook, writer: type[ExcelWriter], monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as patch:
        patch.setattr(workbook_style, "WRITER", writer)
        return workbook_bytes(workbook, ISSUED, "Issuer", "Title")


@pytest.mark.parametrize("kind", ["plain", "formula", "comment", "hyperlink"])
def test_cells_the_lean_writer_does_not_know_fall_back_to_openpyxls_own_rows(monkeypatch, kind):
    lean, stock = (_bytes(_sheet_with(kind), writer, monkeypatch) for writer in (LeanExcelWriter, ExcelWriter))
    assert lean == stock
    sheet = openpyxl.load_workbook(io.BytesIO(lean))["S"]
    assert sheet["A1"].value == "  leading and trailing  " and sheet["A2"].value.endswith("line two")
    assert sheet["B3"].value == 1371.16 and sheet.row_dimensions[4].height == 31
    assert (sheet["C3"].value == "=SUM(A3:B3)") == (kind == "formula")
    assert (sheet["C2"].hyperlink is not None) == (kind == "hyperlink")


def test_a_font_set_outside_the_named_styles_is_written_not_taken_from_the_cache(monkeypatch):
    """The stylesheet cache holds only for workbooks whose style lists are still the template's."""
    plain = _bytes(_sheet_with("plain"), LeanExcelWriter, monkeypatch)
    workbook = _sheet_with("plain")
    workbook["S"]["A1"].font = openpyxl.styles.Font(name="Courier New", bold=True)
    changed = _bytes(workbook, LeanExcelWriter, monkeypatch)
    styles = zipfile.ZipFile(io.BytesIO(changed)).read("xl/styles.xml")
    assert b"Courier New" in styles and b"Courier New" not in zipfile.ZipFile(io.BytesIO(plain)).read("xl/styles.xml")
    assert changed == _bytes(_sheet_with_font(), ExcelWriter, monkeypatch)


def _sheet_with_font() -> Workbook:
    workbook = _sheet_with("plain")
    workbook["S"]["A1"].font = openpyxl.styles.Font(name="Courier New", bold=True)
    return workbook
