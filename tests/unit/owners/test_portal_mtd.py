"""The month-to-date section: budget, forecast, breakdowns, and nothing the strict CSP would block."""
from __future__ import annotations

from chargeback.owners.portal_mtd import render_mtd

DEPARTMENT = {
    "department": "sales", "name": "Sales", "subtotal": "1500.00", "markup": "0.00", "total": "1500.00",
    "forecast": "3100.00", "budget": {"monthly": "2500.00", "alert_at_percent": ["50", "80", "100"]},
    "cells": [["gpt-4o", "input", "2026-11-02", "400000000", "1000.00"],
              ["gpt-4o", "output", "2026-11-02", "40000000", "400.00"],
              ["<ptu>", "input", "2026-11-03", "1000", "100.00"]],
}


def test_budget_forecast_and_breakdowns():
    html = render_mtd(DEPARTMENT, "2026-11", "USD", "2026-11-03T10:05:00+00:00")
    assert '<th scope="row">Used</th><td class="num">60%</td>' in html   # 1500 / 2500
    assert "forecast 3,100.00 USD" in html and "Budget</th><td class=\"num\">2,500.00 USD" in html
    # by deployment, largest first: gpt-4o 1000 + 400; the pool 100 (its name escaped)
    assert html.index(">gpt-4o<") < html.index(">&lt;ptu&gt;<") and "<ptu>" not in html
    assert '<th scope="row">gpt-4o</th><td class="num">1,400.00 USD</td><td class="num">440,000,000</td>' in html
    assert '<th scope="row">output</th><td class="num">400.00 USD</td>' in html
    # the budget line at 2500 of a 3100 scale: 8 + 744 x 2500/3100 = 608.0
    assert 'x1="608.0"' in html
    assert "<script" not in html and "style=" not in html


def test_without_budget_or_usage():
    html = render_mtd({**DEPARTMENT, "budget": None, "cells": []}, "2026-11", "USD", "now")
    assert "<svg" not in html and "Used" not in html and "no usage yet this month" in html
