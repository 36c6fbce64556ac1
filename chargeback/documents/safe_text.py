"""The one formula-safety rule for every document the product writes (workbooks and the FOCUS CSV).

Text a spreadsheet would evaluate is kept as text: OWASP's CSV-injection list (``=``, ``+``, ``-``,
``@``, tab, carriage return) and, like carriage return, a line feed. Only free text passes through
here; identifiers are validated instead (``chargeback.documents.focus_ids``).
"""
from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet opening ``text`` in a cell could read it as a formula."""
    return text.startswith(FORMULA_START)


def csv_text(text: str) -> str:
    """Free text for a CSV cell: a leading apostrophe when it would start a formula (Excel hides it)."""
    return "'" + text if starts_formula(text) else text
