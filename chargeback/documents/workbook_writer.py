"""openpyxl's .xlsx writer with its per-cell cost taken out: the same bytes, written faster.

A department's invoice has some 850 cells; openpyxl serialises each one by building an ElementTree element
and walking it (~80 µs a cell here, over half of a workbook's time), and writes every worksheet to a
temporary file first. ``LeanExcelWriter`` keeps every other part of openpyxl's writer (workbook, styles,
charts, drawings, sheet properties, print setup) and replaces two things:
- a worksheet's ``<sheetData>`` is built as one string, byte for byte what openpyxl's ElementTree path
  (``openpyxl.cell._writer.etree_write_cell``) writes: the same ``r``/``s``/``t`` attributes in the same
  order, inline strings with ``xml:space="preserve"`` where openpyxl sets it, numbers through openpyxl's own
  ``safe_string``, dates through its ``to_excel``, text escaped by the same ElementTree functions;
- the worksheet part is kept in memory (no temporary file to create, stat and remove).
A sheet holding anything this writer does not know (a formula, rich text, a comment, a hyperlink) is
written by openpyxl's own row writer, as before. tests/unit/documents/test_workbook_writer_identical.py
compares the bytes of both writers on every golden month and on generated months.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import LXML
from openpyxl.compat import safe_string
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.packaging.extended import ExtendedProperties
from openpyxl.styles.stylesheet import write_stylesheet
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook._writer import WorkbookWriter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from openpyxl.writer.theme import theme_xml
from openpyxl.xml.constants import (
    ARC_APP,
    ARC_CORE,
    ARC_ROOT_RELS,
    ARC_STYLE,
    ARC_THEME,
    ARC_WORKBOOK,
    ARC_WORKBOOK_RELS,
)
from openpyxl.xml.functions import tostring

from chargeback.documents.workbook_template import template_of

_DATES = (datetime, date, time, timedelta)


class _Unsupported(Exception):
    """A cell this writer leaves to openpyxl's own row writer."""


def _text(value: str) -> str:
    """An inline string cell's ``<is>`` content, as ``etree_write_cell`` + ``whitespace`` make it."""
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and value != stripped else ""
    return f"<is><t{space}>{ET._escape_cdata(value)}</t></is>"   # type: ignore[attr-defined]


def _cell_xml(cell: Any, epoch: datetime, iso_dates: bool, ids: dict[bytes, int]) -> str:
    """One ``<c>`` element; the caller has skipped cells openpyxl skips (no value, no style, no comment)."""
    if cell._comment is not None or cell.hyperlink is not None:
        raise _Unsupported
    kind, value = cell.data_type, cell._value
    attrs = f' r="{get_column_letter(cell.column)}{cell.row}"'
    style = cell._style
    if style is not None and any(style):   # Cell.has_style
        key = style.tobytes()
        index = ids.get(key)
        if index is None:   # first use: Cell.style_id adds it to the workbook's cell styles, in the same order
            index = ids[key] = cell.style_id
        attrs += f' s="{index}"'
    if kind == "s":
        if not isinstance(value, str | None):
            raise _Unsupported   # rich text
        attrs += ' t="inlineStr"'
    elif kind == "d":
        if iso_dates or not isinstance(value, _DATES) or getattr(value, "tzinfo", None) is not None:
            raise _Unsupported   # openpyxl's own path writes it (or raises for a time zone)
        attrs += ' t="n"'
        value = to_excel(value, epoch)
    elif kind in ("n", "b", "e"):
        attrs += f' t="{kind}"'
    else:
        raise _Unsupported   # formulas
    if value is None or value == "":
        return f"<c{attrs} />"
    if kind == "s":
        return f"<c{attrs}>{_text(value)}</c>"
    return f"<c{attrs}><v>{ET._escape_cdata(safe_string(value))}</v></c>"   # type: ignore[attr-defined]


def _row_start(row: int, dimension: Any) -> str:
    """``<row r=...>`` with the row's dimension attributes, merged into one dict as ``write_row`` does."""
    attrs = {"r": f"{row}"}
    if dimension is not None:
        attrs.update(dimension)
    text = "".join(f' {k}="{ET._escape_attrib(v)}"' for k, v in attrs.items())   # type: ignore[attr-defined]
    return f"<row{text}>"


def sheet_data_xml(writer: WorksheetWriter) -> str:
    """The worksheet's ``<sheetData>`` element as openpyxl writes it (raises _Unsupported otherwise)."""
    ws: Worksheet = writer.ws
    workbook = ws.parent
    epoch, iso_dates = workbook.epoch, workbook.iso_dates
    dims = ws.row_dimensions
    parts, ids = ["<sheetData>"], dict[bytes, int]()
    for row, cells in writer.rows():
        parts.append(_row_start(row, dims.get(row)))
        for cell in cells:
            if cell._value is None and not cell.has_style and cell._comment is None:
                continue
            parts.append(_cell_xml(cell, epoch, iso_dates, ids))
        parts.append("</row>")
    parts.append("</sheetData>")
    return "".join(parts)


class _LeanWorksheetWriter(WorksheetWriter):   # type: ignore[misc]
    def write_rows(self) -> None:
        xf = self.xf.send(True)
        raw = getattr(xf, "_file", None)   # et_xmlfile's writer: text straight into the stream
        try:
            if raw is None or LXML:
                raise _Unsupported
            raw(sheet_data_xml(self))
        except _Unsupported:
            with xf.element("sheetData"):
                for row_idx, row in self.rows():
                    self.write_row(xf, row, row_idx)
        self.xf.send(None)


class LeanExcelWriter(ExcelWriter):   # type: ignore[misc]
    """``ExcelWriter`` whose worksheets are written by ``_LeanWorksheetWriter``, in memory, and whose
    stylesheet is the one written before for the same styles (documents/workbook_template.py)."""

    def write_data(self) -> None:
        """openpyxl 3.1's ``ExcelWriter.write_data`` for the parts the product's workbooks have (no custom
        document properties, no VBA: either goes to openpyxl's own), the stylesheet through the template."""
        workbook, archive = self.workbook, self._archive
        if len(workbook.custom_doc_props) or workbook.vba_archive is not None or workbook.loaded_theme:
            super().write_data()
            return
        archive.writestr(ARC_APP, tostring(ExtendedProperties().to_tree()))
        archive.writestr(ARC_CORE, tostring(workbook.properties.to_tree()))
        archive.writestr(ARC_THEME, theme_xml)
        self._write_worksheets()
        self._write_chartsheets()
        self._write_images()
        self._write_charts()
        self._write_external_links()
        template = template_of(workbook)
        if template is None:
            archive.writestr(ARC_STYLE, _stylesheet_part(workbook))
        else:
            archive.writestr(ARC_STYLE, template.stylesheet(workbook, _stylesheet_part))
        writer = WorkbookWriter(workbook)
        archive.writestr(ARC_ROOT_RELS, writer.write_root_rels())
        archive.writestr(ARC_WORKBOOK, writer.write())
        archive.writestr(ARC_WORKBOOK_RELS, writer.write_rels())
        self.manifest._write(archive, workbook)

    def write_worksheet(self, ws: Worksheet) -> None:
        if self.workbook.write_only:   # not used by the product; openpyxl's own path
            super().write_worksheet(ws)
            return
        ws._drawing = SpreadsheetDrawing()   # as ExcelWriter.write_worksheet does
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = _LeanWorksheetWriter(ws, out=io.BytesIO())
        writer.write()
        ws._rels = writer._rels
        self._archive.writestr(ws.path[1:], writer.read())
        self.manifest.append(ws)


def _stylesheet_part(workbook: Any) -> bytes:
    part: bytes = tostring(write_stylesheet(workbook))
    return part
