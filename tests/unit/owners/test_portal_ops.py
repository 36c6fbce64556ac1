"""The admin's dead-letter and unallocated panels (chargeback/owners/portal_ops.py)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.owners.portal_ops import Letter, dead_letters_panel, exports_panel, unallocated_panel


def letter(n: int, day: int, month: int = 11, reason: str = "") -> Letter:
    return Letter(f"dl-{n}", reason or f"reason {n}", datetime(2026, month, day, 12, n, tzinfo=UTC))


def test_the_month_count_and_only_the_newest_five_reasons_newest_first():
    letters = [letter(n, day=n) for n in range(1, 8)] + [letter(9, day=30, month=10, reason="october's")]
    html = dead_letters_panel(letters, "2026-11")
    assert "<strong>7</strong> dead letters recorded; the newest 5:" in html
    assert "october's" not in html and "reason 1<" not in html and "reason 2<" not in html
    assert html.index("reason 7") < html.index("reason 3")


def test_a_reason_is_escaped_and_an_empty_month_says_so():
    html = dead_letters_panel([letter(1, day=2, reason="<script>x</script>")], "2026-11")
    assert "&lt;script&gt;" in html and "<script>" not in html and "1</strong> dead letter recorded:" in html
    assert "No dead letters recorded in 2026-12." in dead_letters_panel([letter(1, day=2)], "2026-12")
    assert "No dead letters" in dead_letters_panel([Letter("x", "r", None)], "2026-11")


def entry(department: str, month: str, total: str, version: int = 1) -> InvoiceEntry:
    return InvoiceEntry(month, department, department, Decimal(total), "USD", version, "b", f"INV-{month}-{version}",
                        "run", datetime(2026, 11, 1, tzinfo=UTC), version > 1, "h")


def test_unallocated_shows_the_newest_priced_month_latest_version():
    html = unallocated_panel([entry("unallocated", "2026-09", "5.00"), entry("sales", "2026-10", "99.00"),
                              entry("unallocated", "2026-10", "7.25"), entry("unallocated", "2026-10", "8.50", 2)])
    assert '<th scope="row">2026-10</th><td>INV-2026-10-2</td>' in html
    assert "8.50" in html and "7.25" not in html and "99.00" not in html


def test_no_unallocated_invoice_says_so():
    assert "Nothing unallocated" in unallocated_panel([entry("sales", "2026-10", "1.00")])


def test_a_long_id_is_shortened_with_the_whole_id_in_its_title():
    html = dead_letters_panel([Letter("a" * 64, "body is not JSON", datetime(2026, 11, 3, tzinfo=UTC))], "2026-11")
    assert f'<abbr title="{"a" * 64}">{"a" * 12}</abbr>' in html


def test_exports_link_the_newest_invoiced_month_or_say_there_is_none():
    html = exports_panel("2026-10")
    assert 'href="/api/exports/2026-10/finance-summary.xlsx"' in html
    assert 'href="/api/exports/2026-10/focus.csv"' in html
    assert 'href="/api/exports/2026-10/focus-metadata.json"' in html
    assert "No month has been invoiced yet." in exports_panel(None)
