"""The portal's detail of a department's latest invoice (issue 13): cost by deployment that adds up to the
invoice total, the change against the month before and a revision's earlier total and difference."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.owners.portal_detail import detail, render_detail

from .test_change import line, month


def entry(name: str, total: str, version: int = 1, run: str = "r1") -> InvoiceEntry:
    return InvoiceEntry(month=name, department="marketing", name="Marketing", total=Decimal(total), currency="USD",
                        version=version, blob="b", invoice_number=f"CB-{name}-MARKETING-{version}", run_id=run,
                        generated_at=datetime(2026, 11, 1, tzinfo=UTC), revision=version > 1, content_hash="h")


SEPTEMBER = month([line("2.50")], "2.50", name="2026-09")
OCT_V1 = month([line("4.00", input_tokens=1_600_000), line("1.00", deployment="o1", input_tokens=400_000)],
               "5.00", name="2026-10")
OCT_V2 = month([line("6.00", input_tokens=2_400_000), line("1.00", deployment="o1", input_tokens=400_000)],
               "7.70", markup="10", fingerprint="sha256:b", name="2026-10")
_MARKED_UP = replace(OCT_V2[1], subtotal=Decimal("7.00"), markup=Decimal("0.70"))
OCT_V2 = (replace(OCT_V2[0], departments=(_MARKED_UP,)), _MARKED_UP)


STORED = {("2026-09", "r0"): SEPTEMBER[0], ("2026-10", "r1"): OCT_V1[0], ("2026-10", "r2"): OCT_V2[0]}


class Runs:
    def charges(self, name, run_id, department):
        return STORED.get((name, run_id))

    def versions(self, name, department):
        return [entry("2026-10", "5.00", 1, "r1"), entry("2026-10", "7.70", 2, "r2")]


def test_the_rows_add_up_to_the_invoice_total_and_a_revision_shows_its_delta():
    found = detail(Runs(), Runs(), (entry("2026-10", "7.70", 2, "r2"), entry("2026-09", "2.50", 1, "r0")))
    assert [(r[0], r[3]) for r in found.rows] == [("gpt-4o", Decimal("6.00")), ("o1", Decimal("1.00")),
                                                 ("markup", Decimal("0.70"))]
    assert sum(r[3] for r in found.rows) == Decimal("7.70")
    assert (found.revision.earlier, found.revision.difference) == (Decimal("5.00"), Decimal("2.70"))
    assert found.revision.reasons == ("a config change", "late usage")   # markup, and more gpt-4o tokens
    assert found.against_last_month.reasons == ("a config change", "more usage")
    html = render_detail(found, "Marketing")
    assert "Revised (version 2): earlier total 5.00 USD, now 7.70 USD; +2.70 USD: a config change, late usage." in html
    assert "Against 2026-09 (2.50 USD): +5.20 USD: a config change, more usage." in html


def test_a_first_invoice_has_no_comparison_and_a_lost_run_no_detail():
    only = detail(Runs(), Runs(), (entry("2026-10", "5.00", 1, "r1"),))
    assert only.against_last_month is None and only.revision is None and "Against" not in render_detail(only, "M")
    assert detail(Runs(), Runs(), (entry("2026-10", "5.00", 1, "gone"),)) is None
    assert detail(Runs(), Runs(), ()) is None


def test_names_from_config_are_escaped():
    found = detail(Runs(), Runs(), (entry("2026-10", "5.00", 1, "r1"),))
    assert "<script>" not in render_detail(found, "<script>x</script>")
