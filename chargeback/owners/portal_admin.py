"""The admin's view in the portal: every department side by side, sortable by server-side links (no
script, so the strict Content-Security-Policy stays as it is)."""
from __future__ import annotations

from decimal import Decimal
from html import escape
from urllib.parse import urlencode

from chargeback.money import format_money
from chargeback.owners.portal_detail import Detail

SORTS = ("name", "total", "change")   # ?sort= values; anything else is "name"


def _row_key(sort: str, name: str, total: Decimal, change: Decimal | None) -> tuple[object, ...]:
    if sort == "total":
        return (-total, name.lower())
    if sort == "change":
        return (-(change or Decimal(0)), name.lower())
    return (name.lower(),)


def side_by_side(rows: list[tuple[str, str, Detail | None]], sort: str, until: str) -> str:
    """``rows``: (department id, name, detail of its latest invoice). Largest first for total and change."""
    sort = sort if sort in SORTS else "name"
    keyed = []
    for department, name, d in rows:
        total = d.entry.total if d else Decimal(0)
        change = d.against_last_month.difference if d and d.against_last_month else None
        keyed.append((_row_key(sort, name, total, change), department, name, d, change))
    body = []
    for _, department, name, d, change in sorted(keyed, key=lambda k: k[0]):
        if d is None:
            body.append(f'<tr><th scope="row">{escape(name)}</th><td colspan="4">no invoice yet</td></tr>')
            continue
        e = d.entry
        why = ", ".join(d.against_last_month.reasons) if d.against_last_month else ""
        moved = "" if change is None else f"{'+' if change > 0 else ''}{format_money(change, e.currency)}"
        if change == 0:
            moved, why = "the same total", why or "-"
        body.append(f'<tr><th scope="row"><a href="#d-{escape(department)}">{escape(name)}</a></th>'
                    f'<td>{escape(e.month)}{" (revised)" if e.revision else ""}</td>'
                    f'<td class="num">{escape(format_money(e.total, e.currency))}</td>'
                    f'<td class="num">{escape(moved)}</td><td>{escape(why)}</td></tr>')
    return ('<section aria-labelledby="all"><h2 id="all">Every department</h2><table>'
            '<caption>Latest invoice of each department; sort by '
            + ", ".join(_link(s, sort, until) for s in SORTS) + '</caption><thead><tr>'
            '<th scope="col">Department</th><th scope="col">Month</th><th scope="col" class="num">Total</th>'
            '<th scope="col" class="num">Against the month before</th><th scope="col">Why</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></section>')


def _link(sort: str, current: str, until: str) -> str:
    if sort == current:
        return f'<strong aria-current="true">{sort}</strong>'
    query = urlencode({"until": until, "sort": sort}) if until else urlencode({"sort": sort})
    return f'<a href="/api/portal?{escape(query)}">{sort}</a>'
