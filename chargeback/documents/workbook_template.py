"""A workbook with the product's named styles registered once, and the stylesheets it has been written with.

Registering the 28 named styles (openpyxl binds each to the workbook, hashing its font, fill, border and
alignment into the workbook's lists) took ~10 ms of every department's workbook, and writing the stylesheet
part another ~10 ms. A ``WorkbookTemplate`` registers them once; each new workbook starts from copies of its
style lists (the same objects in the same order, so every index a named style holds stays valid). The
stylesheet part depends only on those lists and on the cell styles the workbook's cells used, in order of
first use (openpyxl's ``write_stylesheet``): a workbook whose lists are still exactly the template's
(nothing styled outside the named styles) reuses the bytes written for the same cell styles before.
tests/unit/documents/test_workbook_writer_identical.py compares the bytes with openpyxl's own path.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from openpyxl import Workbook
from openpyxl.styles import NamedStyle
from openpyxl.styles.named_styles import NamedStyleList
from openpyxl.utils.indexed_list import IndexedList

# The workbook's style lists a named style's indexes point into (openpyxl.workbook.Workbook._setup_styles).
_LISTS = ("_fonts", "_fills", "_borders", "_alignments", "_protections", "_number_formats")
_MOST_STYLESHEETS = 256   # distinct cell-style sequences kept; the product's invoices use a handful


def _copied(source: IndexedList) -> IndexedList:
    """The same items in the same order, with the lookup dict copied rather than rebuilt (rebuilding hashes
    every font and fill again, which is most of the cost being saved)."""
    copied = IndexedList()
    list.extend(copied, source)
    copied._dict = dict(source._dict)
    copied.clean = source.clean
    return copied


class WorkbookTemplate:
    def __init__(self, styles: list[NamedStyle]):
        self.workbook = Workbook()
        for style in styles:
            self.workbook.add_named_style(style)
        self._stylesheets: dict[bytes, bytes] = {}
        self._lock = threading.Lock()   # activities render in worker threads

    def new(self) -> Workbook:
        """A workbook with the template's named styles and no sheet, as if each style had been added to it."""
        workbook = Workbook()
        for name in (*_LISTS, "_cell_styles"):
            setattr(workbook, name, _copied(getattr(self.workbook, name)))
        workbook._named_styles = NamedStyleList(self.workbook._named_styles)
        workbook.remove(workbook.active)
        with _TEMPLATES_LOCK:
            _TEMPLATES[workbook] = self
        return workbook

    def _unchanged(self, workbook: Workbook) -> bool:
        """Every style list still holds exactly the template's objects (no font or fill set outside them)."""
        template = self.workbook
        for name in _LISTS:
            mine, theirs = getattr(workbook, name), getattr(template, name)
            if len(mine) != len(theirs) or any(a is not b for a, b in zip(mine, theirs, strict=True)):
                return False
        named = list(workbook._named_styles)
        return (len(named) == len(template._named_styles)
                and all(a is b for a, b in zip(named, template._named_styles, strict=True))
                and not workbook._differential_styles.styles and workbook._colors == template._colors
                and workbook._table_styles == template._table_styles)

    def stylesheet(self, workbook: Workbook, write: Callable[[Workbook], bytes]) -> bytes:
        """The workbook's stylesheet part: ``write(workbook)``, or the same bytes written before."""
        if not self._unchanged(workbook):
            return write(workbook)
        key = b"".join(style.tobytes() for style in workbook._cell_styles)   # fixed-width arrays
        with self._lock:
            found = self._stylesheets.get(key)
        if found is None:
            found = write(workbook)
            with self._lock:
                if len(self._stylesheets) >= _MOST_STYLESHEETS:
                    self._stylesheets.clear()
                self._stylesheets[key] = found
        return found


_TEMPLATES: weakref.WeakKeyDictionary[Workbook, WorkbookTemplate] = weakref.WeakKeyDictionary()
_TEMPLATES_LOCK = threading.Lock()


def template_of(workbook: Workbook) -> WorkbookTemplate | None:
    """The template a workbook was made from (None for one made otherwise)."""
    with _TEMPLATES_LOCK:
        return _TEMPLATES.get(workbook)
