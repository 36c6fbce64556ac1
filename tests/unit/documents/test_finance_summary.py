"""The finance summary workbook, read back: departments, pools and their shares, what was not charged."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from chargeback.documents.finance_summary import render_finance_summary
from tests.fixtures.invoice_inputs import (
    ERROR_LOOKING_COST_CENTER,
    GOLDEN,
    HAND_GRAND_TOTAL,
    HAND_POOL_SHARES,
    HAND_TOTALS,
    HOSTILE_DEPLOYMENT,
    HOSTILE_NAME,
    golden_month,
    load,
    meta,
    money,
    named_cell,
    texts,
)


def department_rows(sheet) -> dict[str, dict]:
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == "Department")
    header, found = rows[start], {}
    for row in rows[start + 1:]:
        if str(row[0]).startswith("Grand total"):
            found["GRAND"] = dict(zip(header, row, strict=False))
            break
        found[row[0]] = dict(zip(header, row, strict=False))
    return found


def pool_blocks(sheet) -> list[dict]:
    """Each pool block of the Pools sheet: its title, share rows, shares total and pool cost."""
    blocks, rows = [], list(sheet.iter_rows(values_only=True))
    for index, row in enumerate(rows):
        if row[0] == "Department":
            title, header = rows[index - 2][0], row
            shares, total, cost = [], None, None
            for line in rows[index + 1:]:
                if line[0] == "Shares total":
                    total = line[9]
                elif line[0] == "Pool cost":
                    cost = line[9]
                    break
                else:
                    shares.append(dict(zip(header, line, strict=False)))
            blocks.append({"title": title, "shares": shares, "total": total, "cost": cost})
    return blocks


def test_every_department_with_cost_center_and_hand_worked_totals(hand):
    workbook = load(render_finance_summary(hand, meta()))
    rows = department_rows(workbook["Summary"])
    assert list(rows) == ["marketing", "research", "legal", "unallocated", "GRAND"]
    for department, figures in HAND_TOTALS.items():
        row = rows[department]
        assert money(row["Subtotal"]) == figures["subtotal"]
        assert money(row["Platform fee"]) == figures["markup"]
        assert money(row["Total (USD)"]) == figures["total"]
        assert row["Invoice number"] == f"CB-2026-10-{department.upper()}-1"
    assert rows["marketing"]["Name"] == HOSTILE_NAME and rows["research"]["Cost center"] == ERROR_LOOKING_COST_CENTER
    assert money(rows["marketing"]["Pay-as-you-go"]) == Decimal("6.51")    # 3.25 + 3.00 + 0.26
    assert money(rows["marketing"]["Pool shares"]) == Decimal("1240.00")
    assert money(rows["GRAND"]["Total (USD)"]) == HAND_GRAND_TOTAL
    grand = named_cell(workbook, "GrandTotal")
    assert grand.data_type == "n" and money(grand.value) == HAND_GRAND_TOTAL


def test_generated_departments_add_up_to_the_grand_total(generated):
    rows = department_rows(load(render_finance_summary(generated, meta(generated.month)))["Summary"])
    grand = rows.pop("GRAND")
    totals = [money(row["Total (USD)"]) for row in rows.values()]
    assert sum(totals, Decimal(0)) == money(grand["Total (USD)"]) == generated.grand_total
    for column in ("Pay-as-you-go", "Pool shares", "Subtotal", "Platform fee"):
        assert sum((money(row[column]) for row in rows.values()), Decimal(0)) == money(grand[column])
    assert {d: money(r["Total (USD)"]) for d, r in rows.items()} == {d.department: d.total
                                                                      for d in generated.departments}


def test_pool_shares_add_up_to_the_pool_cost(hand, generated):
    (block,) = pool_blocks(load(render_finance_summary(hand, meta()))["Pools"])
    assert block["title"] == "gpt-4o-ptu · 1–31 Oct 2026"
    assert {row["Department"]: money(row["Amount (USD)"]) for row in block["shares"]} == HAND_POOL_SHARES
    assert money(block["cost"]) == Decimal("3100.00") == money(block["total"])
    assert {row["Department"]: row["Weighted tokens"] for row in block["shares"]} == {"marketing": 400_000,
                                                                                      "research": 600_000}
    for block in pool_blocks(load(render_finance_summary(generated, meta(generated.month)))["Pools"]):
        shares = sum((money(row["Amount (USD)"]) for row in block["shares"]), Decimal(0))
        assert shares == money(block["total"]) == money(block["cost"]) > 0


def test_unpriced_usage_and_warnings_are_listed(hand):
    workbook = load(render_finance_summary(hand, meta()))
    unpriced = [row for row in workbook["Not charged"].iter_rows(min_row=5, values_only=True) if row[0]]
    # per deployment and meter: the unpriced deployment's 1,000 input and 500 output tokens
    assert [(r[0], r[1], r[2], r[7], r[8], r[9]) for r in unpriced] == [
        ("research", "sub-research-01", HOSTILE_DEPLOYMENT, "Input tokens", 1_000, "tokens"),
        ("research", "sub-research-01", HOSTILE_DEPLOYMENT, "Output tokens", 500, "tokens")]
    assert all("no price or pool" in r[10].lower() for r in unpriced)
    summary = [c.value for c in texts(workbook)["Summary"]]
    assert any("never reported their usage" in text for text in summary)
    assert any("sub-stray" in text for text in summary)
    assert hand.config_fingerprint in summary


def test_unpriced_meters_of_a_priced_deployment_are_listed():
    from tests.fixtures.invoice_inputs import GOLDEN, golden_month
    charges, _daily, _expected = golden_month(next(p for p in GOLDEN if p.stem == "meters_unpriced"))
    workbook = load(render_finance_summary(charges, meta(charges.month)))
    unpriced = [row for row in workbook["Not charged"].iter_rows(min_row=5, values_only=True) if row[0]]
    assert [(r[2], r[7], r[8]) for r in unpriced] == [("gpt-4o", "Audio input tokens", 10_000),
                                                      ("gpt-4o", "Audio output tokens", 5_000),
                                                      ("whisper", "Input characters", 700)]
    assert "names no rate for audio input tokens" in unpriced[0][10]
    warnings = [c.value for c in texts(workbook)["Summary"]]
    assert any("10,000 audio input tokens, 5,000 audio output tokens listed as unpriced" in w for w in warnings)


def test_hostile_text_stays_text(hand):
    cells = texts(load(render_finance_summary(hand, meta())))
    hostile = [c for sheet in cells.values() for c in sheet if c.value in (HOSTILE_NAME, HOSTILE_DEPLOYMENT,
                                                                           ERROR_LOOKING_COST_CENTER)]
    assert len(hostile) >= 4 and all(c.data_type == "s" for c in hostile)


def test_deterministic_and_dated_by_the_issue_date(generated):
    first = render_finance_summary(generated, meta(generated.month, version=2, revision=True))
    assert first == render_finance_summary(generated, meta(generated.month, version=2, revision=True))
    workbook = load(first)
    assert workbook.properties.created == workbook.properties.modified == datetime(2026, 11, 2)
    assert any("REVISED" in str(c.value) for c in texts(workbook)["Summary"])
    sheet = workbook["Summary"]
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0 and sheet.freeze_panes


def test_a_month_without_pools_or_unpriced_usage_says_so():
    from chargeback.billing.pricing import price_month
    from chargeback.config.loading import parse_config
    from chargeback.usage.aggregation import aggregate_month
    config = parse_config("""
currency: EUR
departments: [{id: hr, name: HR, subscriptions: [sub-hr]}]
prices: [{deployment: gpt-4o-mini, effective_from: 2026-01-01, unit: 1M, input: 0.15, output: 0.60}]
""")
    charges = price_month("2026-10", aggregate_month("2026-10", []), config)
    workbook = load(render_finance_summary(charges, meta()))
    assert workbook["Pools"]["A4"].value == "No pools were in effect this month."
    assert workbook["Not charged"]["A5"].value == "None."
    assert money(named_cell(workbook, "GrandTotal").value) == Decimal("0")


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_every_golden_case_summarises_to_its_hand_worked_grand_total(path):
    charges, _daily, expected = golden_month(path)
    workbook = load(render_finance_summary(charges, meta(charges.month)))
    assert money(named_cell(workbook, "GrandTotal").value) == Decimal(expected["grand_total"])
    for block in pool_blocks(workbook["Pools"]):
        assert sum((money(r["Amount (USD)" if charges.currency == "USD" else f"Amount ({charges.currency})"])
                    for r in block["shares"]), Decimal(0)) == money(block["cost"])


def test_invoice_numbers_are_the_invoices_as_issued(hand):
    from dataclasses import replace
    revised = replace(meta(), numbers=(("research", "CB-2026-10-RESEARCH-3"),))
    rows = department_rows(load(render_finance_summary(hand, revised))["Summary"])
    assert rows["research"]["Invoice number"] == "CB-2026-10-RESEARCH-3"
    assert rows["marketing"]["Invoice number"] == "CB-2026-10-MARKETING-1"
