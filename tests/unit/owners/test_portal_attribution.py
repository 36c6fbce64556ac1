"""The portal's users-and-tags section: escaped, empty without rows, the others row named."""
from __future__ import annotations

from chargeback.owners.portal_attribution import render_attribution
from chargeback.usage.attribution_rollup import OTHERS, AttributionRow


def test_labels_are_escaped_and_others_named():
    html = render_attribution([AttributionRow("user", "<script>x</script>", 1, 10),
                               AttributionRow("user", OTHERS, 3, 1234)], "d&1", "2026-10")
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert '<th scope="row">All others</th><td class="num">3</td><td class="num">1,234</td>' in html
    assert 'id="who-d&amp;1"' in html and "Top tags" not in html


def test_no_rows_no_section():
    assert render_attribution([], "d", "2026-10") == ""
