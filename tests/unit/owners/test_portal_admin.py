"""The admin's side-by-side table (issue 13): every department, sortable by server-side links."""
from __future__ import annotations

import re

from chargeback.owners.portal_admin import side_by_side
from chargeback.owners.portal_detail import detail

from .test_portal_detail import Runs, entry


def _detail(total: str, run: str, earlier_run: str | None):
    entries = (entry("2026-10", total, 1, run),) + ((entry("2026-09", "2.50", 1, earlier_run),) if earlier_run else ())
    return detail(Runs(), Runs(), entries)


ROWS = [("brand", "Brand", _detail("5.00", "r1", None)),        # 5.00, nothing to compare
        ("marketing", "Marketing", _detail("5.00", "r1", "r0")),  # 5.00, +2.50 against September
        ("ads", "Ads & <Co>", None)]                             # no invoice yet


def order(html: str) -> list[str]:
    return re.findall(r'<tr><th scope="row">(?:<a href="#d-[a-z-]+">)?([^<]+)<', html)


def test_sorted_by_name_by_default_and_for_unknown_values():
    assert order(side_by_side(ROWS, "name", "2026-10")) == ["Ads &amp; &lt;Co&gt;", "Brand", "Marketing"]
    assert order(side_by_side(ROWS, "<script>", "2026-10")) == ["Ads &amp; &lt;Co&gt;", "Brand", "Marketing"]


def test_sorted_by_total_and_by_change_largest_first():
    assert order(side_by_side(ROWS, "total", "2026-10")) == ["Brand", "Marketing", "Ads &amp; &lt;Co&gt;"]
    html = side_by_side(ROWS, "change", "2026-10")
    assert order(html) == ["Marketing", "Ads &amp; &lt;Co&gt;", "Brand"]
    assert "+2.50 USD" in html and "more usage" in html


def test_the_sort_links_keep_the_month_and_mark_the_current_one():
    html = side_by_side(ROWS, "total", "2026-10")
    assert '<a href="/api/portal?until=2026-10&amp;sort=name">name</a>' in html
    assert '<strong aria-current="true">total</strong>' in html and "sort=total" not in html
