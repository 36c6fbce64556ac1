"""How the product's workbooks look and are written: shared styles, the one text-cell writer, stable bytes."""
from __future__ import annotations

import io
import os
import threading
import zipfile
from copy import copy
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from chargeback.documents.safe_text import starts_formula
from chargeback.documents.workbook_template import WorkbookTemplate
from chargeback.documents.workbook_writer import LeanExcelWriter
from chargeback.months import MONTH_NAMES

if TYPE_CHECKING:
    from _typeshed import SizedBuffer

NAVY, GREY, RED = "1F3864", "595959", "C00000"
TOKENS, DECIMAL, RATE, PERCENT = "#,##0", "#,##0.0###", "#,##0.00######", "0.00##%"

# The writer of every workbook: openpyxl's, with the worksheets' cells serialised faster to the same bytes
# (documents/workbook_writer.py); the differential test swaps openpyxl's ExcelWriter back in to compare.
WRITER: type[ExcelWriter] = LeanExcelWriter

_thin, _double = Side(style="thin", color="808080"), Side(style="double", color="000000")


def _font(size: float = 11, **details: Any) -> Font:
    """Every font names its face and size: a bare <font/> leaves the choice to the reader, which varies."""
    return Font(name="Calibri", family=2, size=size, **details)


_bold, _plain = _font(bold=True), _font()
_top = Alignment(vertical="top")   # a row with a wrapped cell reads from its first line


def money_format(minor_unit: int) -> str:
    """Thousands separators and exactly the currency's minor unit: ``#,##0.00`` for USD, ``#,##0`` for JPY."""
    return "#,##0" + ("." + "0" * minor_unit if minor_unit else "")


def month_title(month: str) -> str:
    """``2026-10`` -> ``October 2026`` (English whatever the process locale, so output is stable)."""
    return f"{MONTH_NAMES[int(month[5:7]) - 1]} {month[:4]}"


def period_text(start: date, end: date) -> str:
    """An inclusive day range, short: ``1–15 Oct 2026``, ``7 Oct 2026``."""
    tail = f"{MONTH_NAMES[end.month - 1][:3]} {end.year}"
    if start == end:
        return f"{end.day} {tail}"
    head = f"{start.day}" if (start.year, start.month) == (end.year, end.month) else \
        f"{start.day} {MONTH_NAMES[start.month - 1][:3]}"
    return f"{head}–{end.day} {tail}"


def _styles(minor_unit: int) -> list[NamedStyle]:
    money = money_format(minor_unit)
    header = {"font": _font(bold=True, color="FFFFFF"), "fill": PatternFill("solid", fgColor=NAVY),
                  "border": Border(bottom=_thin)}
    total = {"font": _bold, "border": Border(top=_thin)}
    grand = {"font": _font(bold=True, size=12), "border": Border(top=_thin, bottom=_double)}
    specs = {
        "cb-title": {"font": _font(bold=True, size=18, color=NAVY)},
        "cb-subtitle": {"font": _font(size=11, color=GREY)},
        "cb-revised": {"font": _font(bold=True, size=14, color=RED)},
        "cb-section": {"font": _font(bold=True, size=12, color=NAVY)},
        "cb-label": {"font": _font(bold=True, color=GREY)},
        "cb-text": {"alignment": _top},
        "cb-centre": {"alignment": Alignment(horizontal="center", vertical="top")},
        "cb-wrap": {"alignment": Alignment(wrap_text=True, vertical="top")},
        "cb-strong": {"font": _bold},
        "cb-note": {"font": _font(italic=True, color=GREY)},
        "cb-warning": {"font": _font(color=RED), "alignment": _top},
        **{f"cb-header-{align}": dict(alignment=Alignment(wrap_text=True, vertical="center", horizontal=align),
                                      **header) for align in ("left", "center", "right")},
        "cb-tokens": {"number_format": TOKENS, "alignment": _top},
        "cb-decimal": {"number_format": DECIMAL, "alignment": _top},
        "cb-money": {"number_format": money, "alignment": _top},
        "cb-rate": {"number_format": RATE, "alignment": _top},
        "cb-percent": {"number_format": PERCENT, "alignment": _top},
        "cb-date": {"number_format": "yyyy-mm-dd", "alignment": Alignment(horizontal="left", vertical="top")},
        "cb-day": {"number_format": "ddd d mmm", "alignment": Alignment(horizontal="left")},
        "cb-total-label": total,
        "cb-total-tokens": dict(number_format=TOKENS, **total),
        "cb-total-decimal": dict(number_format=DECIMAL, **total),
        "cb-total-money": dict(number_format=money, **total),
        "cb-grand-label": grand,
        "cb-grand-money": dict(number_format=money, **grand),
    }
    return [NamedStyle(name=name, **{"font": _plain, **spec}) for name, spec in specs.items()]


def new_workbook(minor_unit: int) -> Workbook:
    """An empty workbook with the product's named styles (cells refer to them by name), copied from a template
    that registered them once per currency minor unit (documents/workbook_template.py)."""
    with _TEMPLATE_LOCK:
        template = _TEMPLATES.get(minor_unit)
        if template is None:
            template = _TEMPLATES[minor_unit] = WorkbookTemplate(_styles(minor_unit))
    return template.new()


_TEMPLATES: dict[int, WorkbookTemplate] = {}
_TEMPLATE_LOCK = threading.Lock()


def cell_text(value: object) -> str:
    """Text as a cell can hold it: control characters Excel refuses become U+FFFD, length capped."""
    text = str(value)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)[:32767] if not text.isprintable() else text[:32767]


class SheetWriter:
    """Writes one sheet's cells through named styles and remembers how wide each column must be."""

    def __init__(self, sheet: Worksheet):
        self.sheet = sheet
        self.widths: dict[int, float] = {}
        self._arrays: dict[str, StyleArray] = {}

    def _cell(self, row: int, column: int) -> Cell:
        """``sheet.cell(row, column)`` without its checks and indirections (the product's rows and columns are
        small positive numbers)."""
        cell = self.sheet._cells.get((row, column))
        if cell is None:
            if row < 1 or column < 1:
                raise ValueError("Row or column values must be at least 1")
            cell = Cell(self.sheet, row=row, column=column)
            self.sheet._add_cell(cell)
        return cell

    def style(self, cell: Cell, name: str) -> None:
        """``cell.style = name``: a copy of the named style's array, without openpyxl's search of the workbook's
        named styles by name on every cell (~25 µs a cell, a fifth of a workbook's time)."""
        array = self._arrays.get(name)
        if array is None:
            styles = self.sheet.parent._named_styles
            if name not in styles.names:
                raise ValueError(f"{name} is not a known style")
            array = self._arrays[name] = styles[name].as_tuple()   # the style's own array, as openpyxl copies
        cell._style = copy(array)

    def text(self, row: int, column: int, value: object, style: str = "cb-text", fit: bool = True) -> None:
        """The only way text reaches a cell: always a string, never a formula, error code or number."""
        text = cell_text(value)
        cell = self._cell(row, column)
        # What ``cell.value = text`` then ``data_type = "s"`` leave: cell_text already made it a string Excel
        # takes (no illegal characters, capped), and it stays text even as "=..." or "#N/A".
        cell._value, cell.data_type = text, "s"
        self.style(cell, style)
        if starts_formula(text):
            cell.quotePrefix = True   # and editing the cell in Excel keeps it text too
        if fit:
            self._fit(column, max(map(len, text.split("\n"))) if "\n" in text else len(text))

    def lines(self, row: int, column: int, values: list[str]) -> None:
        """Several short texts in one cell, one per line (e.g. a pool line's subscriptions)."""
        self.text(row, column, "\n".join(values), "cb-wrap")
        if len(values) > 1:
            self.sheet.row_dimensions[row].height = 14 * len(values) + 1

    def number(self, row: int, column: int, value: int | Decimal | date, style: str) -> None:
        cell = self._cell(row, column)
        self.style(cell, style)
        if type(value) in (int, Decimal):   # what Cell._bind_value makes of them; dates go through it
            cell._value, cell.data_type = value, "n"
        else:
            cell.value = value
        self._fit(column, 11 if isinstance(value, date) else len(f"{value:,}") + 1)

    def header(self, row: int, columns: list[tuple[str, str]], height: float = 30) -> None:
        """A table's header row, from ``(title, "left" | "center" | "right")``; titles wrap onto two lines."""
        for column, (title, align) in enumerate(columns, start=1):
            self.text(row, column, title, f"cb-header-{align}", fit=False)
            self._fit(column, round(_two_line_width(title) * 1.15))   # bold runs wider
        self.sheet.row_dimensions[row].height = height

    def _fit(self, column: int, length: int) -> None:
        if length > self.widths.get(column, 0):
            self.widths[column] = length

    def set_widths(self, minimum: float = 8, maximum: float = 40, padding: float = 2) -> None:
        for column, length in sorted(self.widths.items()):
            letter = self.sheet.cell(1, column).column_letter
            self.sheet.column_dimensions[letter].width = min(max(length + padding, minimum), maximum)


def _two_line_width(title: str) -> int:
    """The longest line when ``title`` is broken into at most two lines as evenly as its words allow."""
    words = title.split()
    if not words:   # a header left blank (a wide column spilling from its left)
        return 0
    return min(max(len(" ".join(words[:cut])), len(" ".join(words[cut:]))) for cut in range(1, len(words) + 1))


def print_setup(sheet: Worksheet, landscape: bool, footer: str, title_rows: str | None = None) -> None:
    """One page wide, as many pages tall as needed, page numbers in the footer."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.7
    sheet.page_margins.footer = 0.3
    if title_rows:
        sheet.print_title_rows = title_rows
    # "&" starts a header/footer code: a literal one is written twice.
    sheet.oddFooter.left.text = footer.replace("&", "&&")
    sheet.oddFooter.right.text = "Page &P of &N"


class _StampedZip(zipfile.ZipFile):
    """A zip whose entries carry one fixed time instead of the clock: same workbook, same bytes."""

    stamp = (1980, 1, 1, 0, 0, 0)

    def writestr(self, name: str | zipfile.ZipInfo, data: SizedBuffer | str, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        if isinstance(name, str):
            name = zipfile.ZipInfo(name, date_time=self.stamp)
            name.compress_type = zipfile.ZIP_DEFLATED
            name.external_attr = 0o600 << 16
        super().writestr(name, data, compress_type, compresslevel)

    def write(self, filename: str | os.PathLike[str], arcname: str | os.PathLike[str] | None = None,
              compress_type: int | None = None, compresslevel: int | None = None) -> None:
        # openpyxl writes each worksheet to a temporary file first: its mtime is the clock.
        with open(filename, "rb") as source:
            self.writestr(str(arcname or os.path.basename(filename)), source.read(), compress_type, compresslevel)


def workbook_bytes(workbook: Workbook, issued_at: datetime, creator: str, title: str) -> bytes:
    """The .xlsx bytes, with the issue date (not the clock) as created/modified, in the properties and zip."""
    props = workbook.properties
    props.created = props.modified = issued_at
    props.creator = props.lastModifiedBy = cell_text(creator)
    props.title = cell_text(title)
    buffer = io.BytesIO()
    archive = _StampedZip(buffer, "w", zipfile.ZIP_DEFLATED)
    archive.stamp = max(issued_at.timetuple()[:6], _StampedZip.stamp)   # zip times start in 1980
    WRITER(workbook, archive).save()   # not Workbook.save(): that stamps "modified" with the clock
    return buffer.getvalue()
