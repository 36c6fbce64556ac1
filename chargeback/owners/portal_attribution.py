"""The portal's top end users and tags of a department, from its latest invoice's run (issue 15).

Under the portal's strict CSP: no script, no style attribute, only the page's classes; every value escaped.
Empty when the department's calls named no users or tags, so a portal without attribution looks as before.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

from chargeback.owners.portal import DepartmentHistory
from chargeback.usage.attribution_rollup import OTHERS, TAG, USER, AttributionRow

# (month, run id, department) -> the department's rows as that run stored them (workflow.invoicing.load_attribution)
AttributionLoader = Callable[[str, str, str], list[AttributionRow]]

_TITLES = {USER: "Top end users", TAG: "Top tags"}


def render_attribution(rows: list[AttributionRow], department: str, month: str) -> str:
    """The section as HTML text; "" without rows."""
    if not rows:
        return ""
    ident = escape(department)
    html = (f'<section aria-labelledby="who-{ident}"><h2 id="who-{ident}">Who used it in {escape(month)}</h2>'
            '<p class="note">Tokens (input + output) of the calls that named an end user or a tag; measured, '
            "not priced. A call with several tags counts under each.</p>")
    for kind in (USER, TAG):
        mine = [row for row in rows if row.kind == kind]
        if not mine:
            continue
        body = "".join(f'<tr><th scope="row">{escape("All others" if r.label == OTHERS else r.label)}</th>'
                       f'<td class="num">{r.requests:,}</td><td class="num">{r.tokens:,}</td></tr>' for r in mine)
        html += (f"<table><caption>{_TITLES[kind]}</caption><thead><tr><th scope=\"col\">"
                 f"{'End user' if kind == USER else 'Tag'}</th><th scope=\"col\" class=\"num\">Requests</th>"
                 f'<th scope="col" class="num">Tokens</th></tr></thead><tbody>{body}</tbody></table>')
    return html + "</section>"


def attribution_sections(load: AttributionLoader, histories: Iterable[DepartmentHistory]) -> dict[str, str]:
    """Each department's section from its newest invoice's run; departments without attribution are left out."""
    out: dict[str, str] = {}
    for history in histories:
        if not history.invoices:
            continue
        latest = history.invoices[0]
        try:
            rows = load(latest.month, latest.run_id, history.department)
        except FileNotFoundError:   # the run's intermediate documents are gone: nothing to show
            continue
        html = render_attribution(rows, history.department, latest.month)
        if html:
            out[history.department] = html
    return out
