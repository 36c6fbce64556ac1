"""The invoice's first-page summary by deployment and by model (issue 13), on the hand-worked October."""
from __future__ import annotations

from decimal import Decimal

from chargeback.documents.invoice_workbook import render_department_workbook
from tests.fixtures.invoice_inputs import HAND_TOTALS, load, meta, money


def summary(hand_inputs, department="marketing"):
    charges, daily, _ = hand_inputs
    sheet = load(render_department_workbook(charges, department, daily[department], meta()))["Invoice"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[0] == "Summary")
    body = []
    for r in rows[start + 2:]:
        if r[0] is None and r[4] is None:
            break
        body.append(r)
    return rows, start, body


def test_by_deployment_and_by_model_worked_by_hand(hand_inputs):
    rows, start, body = summary(hand_inputs)
    assert rows[start + 1][:2] == ["By deployment", "Amount (USD)"] and rows[start + 1][4] == "By model"
    # tests/fixtures/invoice_inputs.py: pool share 1,240.00; gpt-4o 3.25 + 3.00; embeddings 0.26
    assert [(r[0], money(r[1])) for r in body if r[0]] == [
        ("gpt-4o-ptu (PTU pool)", Decimal("1240.00")), ("gpt-4o", Decimal("6.25")),
        ("text-embedding-3-large", Decimal("0.26"))]
    assert [(r[4], money(r[5])) for r in body if r[4]] == [
        ("gpt-4o-2024-08-06", Decimal("1246.25")), ("(model not reported)", Decimal("0.26"))]
    assert sum(money(r[1]) for r in body if r[0]) == HAND_TOTALS["marketing"]["subtotal"]
    first_table = next(i for i, r in enumerate(rows) if r[0] == "Pay-as-you-go usage")
    assert start < first_table   # on the first page, before the line tables


def test_a_department_without_charges_has_no_summary(hand_inputs):
    charges, daily, _ = hand_inputs
    sheet = load(render_department_workbook(charges, "legal", daily.get("legal", []), meta()))["Invoice"]
    assert "Summary" not in [c.value for row in sheet.iter_rows() for c in row]


def test_a_revision_states_the_earlier_total_the_difference_and_why(hand_inputs):
    from dataclasses import replace
    charges, daily, _ = hand_inputs
    revised = replace(meta(version=2, revision=True), previous_total=Decimal("1300.00"),
                      revision_reason="late usage")
    sheet = load(render_department_workbook(charges, "marketing", daily["marketing"], revised))["Invoice"]
    said = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    # HAND_TOTALS: marketing's total is 1,371.16, so 71.16 more than 1,300.00
    assert "The earlier total was 1,300.00 USD; the difference is +71.16 USD (late usage)." in said
    unknown = replace(revised, previous_total=None)
    sheet = load(render_department_workbook(charges, "marketing", daily["marketing"], unknown))["Invoice"]
    assert "The earlier total" not in " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
