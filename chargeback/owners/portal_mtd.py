"""The portal's month-to-date section of one department: cost so far against its budget with the forecast,
and this month's cost by deployment and by meter.

Works under the portal's strict CSP (chargeback/owners/portal.py): no script, no style attribute, only the
page's classes; the one chart is inline SVG with presentation attributes, and every figure is also in a table.
Input is one department of the month-to-date document (chargeback/workflow/month_to_date.py, price_to_date_step).
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html import escape
from typing import Any

from chargeback.billing.mtd_cells import breakdown
from chargeback.money import format_money

WIDTH, HEIGHT, LEFT, RIGHT = 760, 64, 8, 8


def render_mtd(department: dict[str, Any], month: str, currency: str, as_of: str) -> str:
    """The section as HTML text (every value escaped)."""
    total, forecast = Decimal(department["total"]), Decimal(department["forecast"])
    budget = Decimal(department["budget"]["monthly"]) if department.get("budget") else None

    def money(amount: Decimal) -> str:
        return escape(format_money(amount, currency))

    summary = [("Month to date", money(total)), ("Forecast for the month", money(forecast))]
    if budget is not None:
        summary += [("Budget", money(budget)), ("Used", f"{(total * 100 / budget).quantize(Decimal(1))}%")]
    rows = "".join(f'<tr><th scope="row">{escape(k)}</th><td class="num">{v}</td></tr>' for k, v in summary)
    ident = escape(department["department"])
    html = (f'<section aria-labelledby="mtd-{ident}"><h2 id="mtd-{ident}">{escape(month)} so far</h2>'
            f'<p class="note">As of the last refresh, {escape(as_of)}; the forecast is a weekday-aware run rate '
            "(pools count whole).</p>")
    if budget is not None:
        html += f"<figure>{budget_chart(total, forecast, budget, currency)}</figure>"
    html += (f'<table><caption>Month to date against budget</caption><tbody>{rows}</tbody></table>'
             + _breakdown_table(department, "deployment", "Cost by deployment", money)
             + _breakdown_table(department, "meter", "Cost by meter", money) + "</section>")
    return html


def _breakdown_table(department: dict[str, Any], by: str, caption: str, money: Callable[[Decimal], str]) -> str:
    rows = sorted(breakdown(department, by), key=lambda r: (-Decimal(r["cost"]), r[by]))
    if not rows:
        return f'<p class="note">{escape(caption)}: no usage yet this month.</p>'
    body = "".join(f'<tr><th scope="row">{escape(r[by])}</th><td class="num">{money(Decimal(r["cost"]))}</td>'
                   f'<td class="num">{Decimal(r["quantity"]):,}</td></tr>' for r in rows)
    return (f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">{escape(by.title())}</th>'
            '<th scope="col" class="num">Cost</th><th scope="col" class="num">Quantity</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def budget_chart(total: Decimal, forecast: Decimal, budget: Decimal, currency: str) -> str:
    """A bar of cost so far on a scale to max(budget, forecast), the budget and the forecast as marks."""
    scale = max(budget, forecast, total, Decimal(1))
    span = Decimal(WIDTH - LEFT - RIGHT)

    def x(amount: Decimal) -> str:
        return str((Decimal(LEFT) + span * amount / scale).quantize(Decimal("0.1")))

    width = str((span * total / scale).quantize(Decimal("0.1")))
    title = (f"Month to date {format_money(total, currency)} of a {format_money(budget, currency)} budget; "
             f"forecast {format_money(forecast, currency)}")
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title>"
            f'<rect class="grid" x="{LEFT}" y="16" width="{span}" height="24" fill="none"/>'
            f'<g class="bar"><rect x="{LEFT}" y="16" width="{width}" height="24"/></g>'
            f'<line class="axis" x1="{x(budget)}" x2="{x(budget)}" y1="8" y2="48"/>'
            f'<text class="tick" x="{x(budget)}" y="60" text-anchor="end">budget</text>'
            f'<line class="axis" x1="{x(forecast)}" x2="{x(forecast)}" y1="12" y2="44" stroke-dasharray="4 3"/>'
            f'<text class="value" x="{x(forecast)}" y="10" text-anchor="middle">forecast</text></svg>')
