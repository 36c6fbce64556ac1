"""The owners' portal page: their departments' invoices by month, download links, a cost chart.

Server-rendered, self-contained (inline CSS and SVG, no scripts, no fonts, no external requests), so it
works offline and under a strict Content-Security-Policy. Everything from config or storage is escaped.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from chargeback.config.model import ChargebackConfig
from chargeback.documents.invoice_entry import InvoiceEntry
from chargeback.money import format_money
from chargeback.owners.access import InvoiceAccess, InvoiceLookup
from chargeback.owners.portal_admin import side_by_side
from chargeback.owners.portal_chart import MonthBar, cost_chart
from chargeback.owners.portal_detail import Detail, render_detail

MONTHS_SHOWN = 12

STYLE = """
:root{color-scheme:light;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--accent:#0b5cad;--bar:#3b82c4;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#0f2a44;color:#fff;padding:1.25rem 2rem}
header h1{margin:0;font-size:1.5rem;font-weight:600}
header p{margin:.25rem 0 0;color:#c9d6e3}
.badge{display:inline-block;margin-left:.5rem;padding:0 .5rem;border-radius:1rem;background:#ffd166;color:#1b1f24;
font-size:.8rem;font-weight:600}
main{max-width:60rem;margin:0 auto;padding:1.5rem 2rem 3rem}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.5rem;margin:0 0 1.5rem}
h2{font-size:1.2rem;margin:.25rem 0 .75rem}
h2 .cc{color:var(--muted);font-weight:400;font-size:.95rem;margin-left:.5rem}
figure{margin:0}
figcaption,.note{color:var(--muted);font-size:.9rem}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:#e5e9ee;stroke-width:1}
.chart .axis{stroke:#8c959f;stroke-width:1}
.chart .tick,.chart .month,.chart .year,.chart .unit{fill:var(--muted);font-size:12px}
.chart .value{fill:var(--ink);font-size:11px;font-weight:600}
.chart .bar rect{fill:var(--bar)}
.chart .bar.latest rect{fill:var(--accent)}
.chart .bar:hover rect{fill:#08457f}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
caption{text-align:left;color:var(--muted);font-size:.9rem;padding-bottom:.5rem}
th,td{padding:.45rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:baseline}
thead th{font-size:.85rem;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line)}
.num{text-align:right;white-space:nowrap}
.nowrap,tbody th{white-space:nowrap}
a{color:var(--accent)}
a:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.revised{color:#8a4b00;font-size:.85rem}
.change{margin:.25rem 0 .75rem;padding:.5rem .75rem;border-left:4px solid var(--accent);background:#eef4fb}
tfoot th,tfoot td{font-weight:600;border-top:2px solid var(--line)}
.detail{margin-bottom:1rem}
details{margin-top:.75rem}
summary{cursor:pointer;color:var(--accent)}
form{margin:0}
button{font:inherit;font-size:.9rem;padding:.15rem .9rem;border:1px solid var(--accent);border-radius:6px;
background:var(--accent);color:#fff;cursor:pointer}
button:disabled{background:#e5e9ee;color:var(--muted);border-color:var(--line);cursor:not-allowed}
button:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.failed{color:#a40e26}
""".strip()

# The page's only style is STYLE: the policy names it by hash, so nothing injected could add another.
# Forms may post only to this site (the admin's Rerun button, chargeback/owners/portal_admin_runs.py).
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'sha256-"
                           + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
                           + "'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass(frozen=True)
class DepartmentHistory:
    """One department's latest invoice per month, newest month first."""

    department: str
    name: str
    cost_center: str
    invoices: tuple[InvoiceEntry, ...]


def months_back(until: str, count: int = MONTHS_SHOWN) -> list[str]:
    """The ``count`` months ending with ``until`` (YYYY-MM), oldest first."""
    year, month = int(until[:4]), int(until[5:7])
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def gather(index: InvoiceLookup, access: InvoiceAccess, config: ChargebackConfig | None,
           months: list[str]) -> list[DepartmentHistory]:
    """What the caller may see in ``months``: owned departments always (even with no invoice yet)."""
    found: dict[str, list[InvoiceEntry]] = {d: [] for d in sorted(access.owned)}
    for month in months:
        for entry in access.visible(index.month(month)):
            found.setdefault(entry.department, []).append(entry)
    histories = []
    for department, entries in found.items():
        configured = config.department(department) if config else None
        latest_name = entries[-1].name if entries else department
        histories.append(DepartmentHistory(
            department, configured.name if configured else latest_name, configured.cost_center if configured else "",
            tuple(sorted(entries, key=lambda e: e.month, reverse=True))))
    return sorted(histories, key=lambda h: h.name.lower())


def download_href(entry: InvoiceEntry) -> str:
    return f"/api/invoices/{entry.month}/{entry.department}"


_money = format_money   # the one money formatter (chargeback.money)


def _bars(histories: list[DepartmentHistory], months: list[str]) -> list[MonthBar]:
    bars = []
    for month in months:
        entries = [(h.name, e) for h in histories for e in h.invoices if e.month == month]
        if not entries:
            bars.append(MonthBar(month, None, f"{month}: no invoice"))
            continue
        total = sum((e.total for _, e in entries), Decimal(0))
        currency = entries[0][1].currency
        split = f" ({', '.join(f'{name} {e.total:,}' for name, e in entries)})" if len(entries) > 1 else ""
        bars.append(MonthBar(month, total, f"{month}: {_money(total, currency)}{split}"))
    return bars


def _department_section(h: DepartmentHistory, detail: Detail | None = None, mtd: str = "") -> str:
    name = escape(h.name)
    cc = f' <span class="cc">{escape(h.cost_center)}</span>' if h.cost_center else ""
    head = f'<section aria-labelledby="d-{escape(h.department)}"><h2 id="d-{escape(h.department)}">{name}{cc}</h2>'
    # SLOT (issue 13, T1): the month-to-date section (chargeback/owners/portal_mtd.py), pre-rendered HTML
    head += mtd
    if detail is not None:
        head += f'<div class="detail">{render_detail(detail, h.name)}</div>'
    if not h.invoices:
        return head + '<p class="note">No invoices in this period yet.</p></section>'
    rows = []
    for e in h.invoices:
        revised = ' <span class="revised">revised</span>' if e.revision else ""
        rows.append(
            f'<tr><th scope="row">{escape(e.month)}</th><td class="nowrap">{escape(e.invoice_number)}{revised}</td>'
            f'<td class="num">{e.version}</td><td class="num">{escape(_money(e.total, e.currency))}</td>'
            f'<td><a href="{escape(download_href(e))}" download>Download {name} invoice '
            f'<span class="nowrap">for {escape(e.month)} (xlsx)</span></a></td></tr>')
    return (head + f'<table><caption>{name} invoices, latest version per month, newest first</caption>'
            '<thead><tr><th scope="col">Month</th><th scope="col">Invoice</th><th scope="col" class="num">Version'
            '</th><th scope="col" class="num">Total</th><th scope="col">Workbook</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _chart_section(histories: list[DepartmentHistory], months: list[str]) -> str:
    bars = _bars(histories, months)
    currencies = sorted({e.currency for h in histories for e in h.invoices}) or ["amount"]
    whose = "your department's" if len(histories) == 1 else "your departments'"
    title = f"Cost per month, {months[0]} to {months[-1]}"
    rows = "".join(f'<tr><th scope="row">{escape(b.month)}</th><td class="num">'
                   f'{escape(b.label.split(": ", 1)[1])}</td></tr>' for b in reversed(bars))
    return ('<section aria-labelledby="cost"><h2 id="cost">Cost per month</h2><figure>'
            + cost_chart(bars, title, " / ".join(currencies))
            + f'<figcaption>Total of {whose} invoices (latest version of each), {escape(months[0])} to '
            f'{escape(months[-1])}, in {escape(", ".join(currencies))}.</figcaption></figure>'
            '<details><summary>The chart as a table</summary><table><caption>Cost per month</caption>'
            '<thead><tr><th scope="col">Month</th><th scope="col" class="num">Total</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></details></section>')


def render_portal(access: InvoiceAccess, histories: list[DepartmentHistory], months: list[str],
                  details: dict[str, Detail] | None = None, mtd: dict[str, str] | None = None,
                  sort: str = "name", ops: str = "") -> str:
    """The whole page as HTML text; ``details`` and ``mtd`` (escaped HTML) by department id; an admin first
    sees every department side by side, ordered by ``sort`` (portal_admin.SORTS), then ``ops`` (escaped HTML,
    chargeback/owners/portal_ops.py)."""
    who = escape(access.principal.email)
    badge = '<span class="badge">admin: every department</span>' if access.admin else ""
    details, mtd = details or {}, mtd or {}
    if histories:
        table = side_by_side([(h.department, h.name, details.get(h.department)) for h in histories], sort,
                             months[-1]) + ops if access.admin else ""
        body = table + _chart_section(histories, months) + "".join(
            _department_section(h, details.get(h.department), mtd.get(h.department, "")) for h in histories)
    elif access.admin:   # nothing invoiced in these months yet: the run panel is where that changes
        body = ('<section aria-labelledby="none"><h2 id="none">No invoices yet</h2><p>No department has an '
                f'invoice in {escape(months[0])} to {escape(months[-1])}.</p></section>' + ops)
    else:
        body = ('<section aria-labelledby="none"><h2 id="none">No departments yet</h2><p>You are not an owner of '
                'any department, so there are no invoices to show. Ask the platform team to add you to your '
                "department's owners.</p></section>")
    # Referrer same-origin, not no-referrer: under no-referrer the Rerun form's POST says "Origin: null".
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="same-origin">'
            f'<title>Azure OpenAI chargeback: invoices</title><style>{STYLE}</style></head><body>'
            f'<header><h1>Azure OpenAI chargeback</h1><p>Signed in as {who}{badge}</p></header>'
            f'<main>{body}</main></body></html>')
