"""The portal page: structure a screen reader can use, escaping, self-containment, the chart's figures."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from chargeback.config.loading import parse_config
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.owners.access import InvoiceAccess
from chargeback.owners.identity import Principal
from chargeback.owners.portal import CONTENT_SECURITY_POLICY, DepartmentHistory, gather, months_back, render_portal
from chargeback.owners.portal_chart import axis_top, bar_value
from tests.conftest import require_tool

EVIL = '<script>alert("x")</script> & Co'


def entry(month, department, name, total, version=1):
    return InvoiceEntry(month=month, department=department, name=name, total=Decimal(total), currency="USD",
                        version=version, blob="b", invoice_number=f"CB-{month}-{department.upper()}-{version}",
                        run_id="r", generated_at=datetime(2026, 11, 1, tzinfo=UTC), revision=version > 1,
                        content_hash="h")


class Page(HTMLParser):
    """Collects the elements and text the assertions look at."""

    def __init__(self, html: str):
        super().__init__()
        self.tags, self.text, self.links, self.titles, self._stack, self._link = [], [], [], [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._stack.append([tag, ""])
        if tag == "a":
            self._link = [attrs.get("href"), ""]

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, text = self._stack.pop()
            if open_tag == "title" and self._stack and self._stack[-1][0] == "g":
                self.titles.append(text)
            if open_tag == tag:
                break
        if tag == "a" and self._link:
            self.links.append(tuple(self._link))
            self._link = None

    def handle_data(self, data):
        self.text.append(data)
        if self._stack:
            self._stack[-1][1] += data
        if self._link:
            self._link[1] += data

    def all(self, tag):
        return [a for t, a in self.tags if t == tag]


def alice_page():
    months = months_back("2026-10", 3)
    histories = [DepartmentHistory("marketing", "Marketing", "CC-1001",
                                   (entry("2026-10", "marketing", "Marketing", "100.00", 2),
                                    entry("2026-09", "marketing", "Marketing", "50.00"))),
                 DepartmentHistory("brand", EVIL, "CC-<9>", ())]
    access = InvoiceAccess(Principal("alice@example.com", frozenset()), False, frozenset({"marketing", "brand"}))
    return render_portal(access, histories, months)


def test_months_back_crosses_the_year():
    assert months_back("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert len(months_back("2026-10")) == 12 and months_back("2026-10")[0] == "2025-11"


@pytest.mark.parametrize(("largest", "top"), [("304.75", "400"), ("103.52", "200"), ("7", "8"), ("0", "4"),
                                          ("26000", "40000"), ("0.3", "0.4")])
def test_axis_top_is_a_round_number_at_or_above_the_largest_bar(largest, top):
    assert axis_top(Decimal(largest)) == Decimal(top)


def test_bar_values_drop_cents_only_from_a_thousand_up():
    assert (bar_value(Decimal("999.99")), bar_value(Decimal("26000.50"))) == ("999.99", "26,001")


def test_the_page_has_language_headings_captions_and_scoped_headers():
    html = alice_page()
    page = Page(html)
    assert html.startswith("<!doctype html>") and page.all("html")[0]["lang"] == "en"
    assert len(page.all("h1")) == 1 and len(page.all("h2")) == 3   # cost, and one per department
    assert len(page.all("caption")) == 2                             # the chart's table and marketing's
    assert {a.get("scope") for a in page.all("th")} == {"col", "row"}
    svg = page.all("svg")[0]
    assert svg["role"] == "img" and svg["aria-labelledby"] == "chart-title chart-desc"


def test_download_links_say_what_they_open():
    page = Page(alice_page())
    assert page.links == [("/api/invoices/2026-10/marketing", "Download Marketing invoice for 2026-10 (xlsx)"),
                          ("/api/invoices/2026-09/marketing", "Download Marketing invoice for 2026-09 (xlsx)")]


def test_each_bar_has_a_title_and_heights_follow_the_totals():
    html = alice_page()
    assert Page(html).titles == ["2026-08: no invoice", "2026-09: 50.00 USD", "2026-10: 100.00 USD"]
    # Axis top 200 for a largest bar of 100 (steps of 50); the plot is 280 - 36 - 48 = 196 units high,
    # so 100 -> 98.0 and 50 -> 49.0, and the month without an invoice has no height.
    heights = re.findall(r'<rect [^>]*height="([0-9.]+)"', html)
    assert heights == ["0.0", "49.0", "98.0"]


def test_everything_from_config_is_escaped():
    html = alice_page()
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html and "CC-&lt;9&gt;" in html


class InlineStyles(HTMLParser):
    """The text of every <style> element, as a browser hashes it (style is raw text: no entities decoded)."""

    def __init__(self, html: str):
        super().__init__()
        self.styles: list[str] = []
        self._inside = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._inside = True
            self.styles.append("")

    def handle_endtag(self, tag):
        if tag == "style":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.styles[-1] += data


def openssl_sha256_base64(text: str) -> str:
    """CSP's hash-source of a text (base64 of the SHA-256 of its UTF-8), computed by openssl, not by Python."""
    require_tool(shutil.which("openssl") is not None, "openssl")
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=text.encode("utf-8"),
                            capture_output=True, check=True).stdout
    return subprocess.run(["openssl", "base64", "-A"], input=digest, capture_output=True,
                          check=True).stdout.decode().strip()


def policy_directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";") if d.strip())}


def test_the_page_is_self_contained_and_its_style_matches_the_policy_hash():
    html = alice_page()
    page = Page(html)
    assert not page.all("script") and not page.all("img") and not page.all("link")
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not any("style" in attrs for _, attrs in page.tags)   # a hash allows <style> only, no style=""
    (style,) = InlineStyles(html).styles
    policy = policy_directives(CONTENT_SECURITY_POLICY)
    assert policy["style-src"] == [f"'sha256-{openssl_sha256_base64(style)}'"]
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_an_outsider_gets_a_page_that_says_so():
    access = InvoiceAccess(Principal("carol@example.com", frozenset()), False, frozenset())
    page = Page(render_portal(access, [], months_back("2026-10")))
    assert page.links == [] and not page.all("svg")
    assert "You are not an owner of any department" in "".join(page.text)


class Index:
    def __init__(self, entries):
        self.entries = entries

    def month(self, month):
        return [e for e in self.entries if e.month == month]


def test_gather_keeps_what_the_caller_may_see_newest_first_and_owned_departments_without_invoices():
    config = parse_config("""
currency: USD
departments:
  - {id: marketing, name: Marketing, cost_center: CC-1, owners: [alice@example.com], subscriptions: [a]}
  - {id: sales, name: Sales, cost_center: CC-2, owners: [bob@example.com], subscriptions: [b]}
  - {id: brand, name: Brand Studio, cost_center: CC-3, owners: [alice@example.com], subscriptions: [c]}
""")
    index = Index([entry("2026-09", "marketing", "Marketing", "1"), entry("2026-10", "marketing", "Marketing", "2"),
                   entry("2026-10", "sales", "Sales", "3"), entry("2025-01", "marketing", "Marketing", "9")])
    alice = InvoiceAccess.of(Principal("alice@example.com", frozenset()), config)
    histories = gather(index, alice, config, months_back("2026-10"))
    assert [(h.department, h.name, [e.month for e in h.invoices]) for h in histories] == [
        ("brand", "Brand Studio", []), ("marketing", "Marketing", ["2026-10", "2026-09"])]
