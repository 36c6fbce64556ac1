"""The FOCUS 1.0 CSV export, parsed as a FinOps tool would parse it."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest

from chargeback.documents.focus import render_focus_csv
from tests.fixtures.invoice_inputs import (
    ERROR_LOOKING_COST_CENTER,
    GOLDEN,
    HAND_GRAND_TOTAL,
    HAND_TOTALS,
    HOSTILE_DEPLOYMENT,
    HOSTILE_NAME,
    HOSTILE_SUBSCRIPTION,
    UNICODE_NAME,
    golden_month,
    hand_month,
    meta,
)

# FOCUS 1.0 mandatory columns, from the specification (not from the module under test).
MANDATORY = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "BillingAccountId",
             "BillingAccountName", "BillingCurrency", "ChargeCategory", "ChargeClass", "ChargeDescription",
             "InvoiceIssuerName", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
             "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"]
ASKED_FOR = ["SubAccountId", "SubAccountName", "ConsumedQuantity", "ConsumedUnit", "SkuId", "ResourceId",
             "ResourceName", "Tags", "x_CostCenter", "x_Subscription", "x_PricePeriod", "x_InvoiceNumber"]
COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")




def parse(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_header_has_the_mandatory_and_asked_for_columns(generated):
    header = next(csv.reader(io.StringIO(render_focus_csv(generated, meta(generated.month)).decode("utf-8"))))
    assert set(MANDATORY + ASKED_FOR) <= set(header)
    assert len(header) == len(set(header))
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+|x_[A-Z][A-Za-z]+", name) for name in header)


def test_billed_cost_sums_to_the_grand_total(hand, generated):
    assert sum(Decimal(r["BilledCost"]) for r in parse(render_focus_csv(hand, meta()))) == HAND_GRAND_TOTAL
    rows = parse(render_focus_csv(generated, meta(generated.month)))
    assert sum(Decimal(r["BilledCost"]) for r in rows) == generated.grand_total
    by_department = {}
    for row in rows:
        by_department[row["SubAccountId"]] = by_department.get(row["SubAccountId"], Decimal(0)) + Decimal(
            row["BilledCost"])
    assert by_department == {d.department: d.total for d in generated.departments if d.lines or d.total}


def test_rows_of_the_hand_month(hand):
    rows = parse(render_focus_csv(hand, meta()))
    marketing = [r for r in rows if r["SubAccountId"] == "marketing"]
    assert sum(Decimal(r["BilledCost"]) for r in marketing) == HAND_TOTALS["marketing"]["total"]
    kinds = [(r["x_ChargeKind"], r["ChargeCategory"], r["BilledCost"]) for r in marketing]
    assert kinds == [("payg", "Usage", "3.25"), ("payg", "Usage", "3.00"), ("payg", "Usage", "0.26"),
                     ("pool-share", "Usage", "1240.00"), ("markup", "Adjustment", "124.65")]
    first = marketing[0]
    assert (first["ChargePeriodStart"], first["ChargePeriodEnd"]) == ("2026-10-01T00:00:00Z", "2026-10-16T00:00:00Z")
    assert marketing[1]["ChargePeriodEnd"] == "2026-11-01T00:00:00Z"      # end exclusive
    assert first["x_PricePeriod"] == "2026-10-01/2026-10-15"
    assert (first["ConsumedQuantity"], first["ConsumedUnit"]) == ("1100000", "Tokens")
    assert (first["PricingQuantity"], first["PricingUnit"]) == ("1.1", "1M Tokens")
    assert (first["x_InputTokens"], first["x_CachedInputTokens"], first["x_OutputTokens"]) == ("1000000", "200000",
                                                                                            "100000")
    assert (first["SkuId"], first["ResourceId"], first["ResourceName"]) == ("gpt-4o",) * 3
    assert first["x_InvoiceNumber"] == "CB-2026-10-MARKETING-1" and first["x_CostCenter"] == "CC-1001"
    assert json.loads(first["Tags"]) == {"department": "marketing", "cost_center": "CC-1001"}
    pool = marketing[3]
    assert (pool["PricingQuantity"], pool["PricingUnit"], pool["x_WeightedTokens"]) == ("400000", "Weighted Tokens",
                                                                                       "400000")
    markup = marketing[4]
    assert markup["ConsumedQuantity"] == "" and markup["PricingQuantity"] == ""
    unpriced = [r for r in rows if r["x_ChargeKind"] == "unpriced"]
    assert len(unpriced) == 1 and Decimal(unpriced[0]["BilledCost"]) == 0
    assert unpriced[0]["x_InputTokens"] == "1000" and "not charged" in unpriced[0]["ChargeDescription"]


def test_every_row_fills_the_mandatory_columns_validly(generated):
    rows = parse(render_focus_csv(generated, meta(generated.month)))
    assert rows
    for row in rows:
        for column in COSTS:
            assert Decimal(row[column]) == Decimal(row["BilledCost"])
        assert row["BillingCurrency"] == "USD"
        assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
        start, end = row["ChargePeriodStart"], row["ChargePeriodEnd"]
        assert INSTANT.fullmatch(start) and INSTANT.fullmatch(end) and start < end
        assert start >= "2026-03-01T00:00:00Z" and end <= "2026-04-01T00:00:00Z"
        assert row["ChargeCategory"] in ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
        assert row["ChargeClass"] == ""
        assert (row["ServiceName"], row["ServiceCategory"]) == ("Azure OpenAI", "AI and Machine Learning")
        assert row["PublisherName"] == "Microsoft" and row["InvoiceIssuerName"] == "Contoso AI Platform"
        assert row["BillingAccountId"] and row["BillingAccountName"] and row["ChargeDescription"]
        if row["ChargeCategory"] == "Usage":   # FOCUS: quantities are required on usage rows
            assert Decimal(row["PricingQuantity"]) >= 0 and row["PricingUnit"]
            assert int(row["ConsumedQuantity"]) >= 0 and row["ConsumedUnit"] == "Tokens"


def test_formula_like_text_is_defused_but_numbers_are_not(hand):
    rows = parse(render_focus_csv(hand, meta()))
    names = {r["SubAccountName"] for r in rows}
    assert "'" + HOSTILE_NAME in names and UNICODE_NAME in names
    assert "'" + HOSTILE_SUBSCRIPTION in {r["x_Subscription"] for r in rows}
    assert "'" + HOSTILE_DEPLOYMENT in {r["ResourceName"] for r in rows}
    assert ERROR_LOOKING_COST_CENTER in {r["x_CostCenter"] for r in rows}   # "#" starts no formula
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)


def test_negative_numbers_stay_numbers():
    """A credit (a negative amount, e.g. from a future correction) must not be prefixed like text."""
    from dataclasses import replace
    charges = hand_month()[0]
    research = charges.department("research")
    line = replace(research.lines[0], amount=Decimal("-5.00"))
    credited = replace(research, lines=(line,) + research.lines[1:], subtotal=research.subtotal - 5,
                       total=research.total - 5)
    charges = replace(charges, departments=tuple(credited if d.department == "research" else d
                                                 for d in charges.departments),
                      grand_total=charges.grand_total - 5)
    rows = parse(render_focus_csv(charges, meta()))
    assert "-5.00" in [r["BilledCost"] for r in rows]
    assert sum(Decimal(r["BilledCost"]) for r in rows) == HAND_GRAND_TOTAL - 5


def test_utf8_deterministic_and_one_line_per_record(hand):
    data = render_focus_csv(hand, meta())
    assert data == render_focus_csv(hand, meta())
    assert not data.startswith(b"\xef\xbb\xbf")          # no BOM: the first column is BilledCost
    assert UNICODE_NAME.encode("utf-8") in data
    assert data.count(b"\r\n") == len(parse(data)) + 1


def test_refuses_metadata_of_another_month(hand):
    with pytest.raises(ValueError):
        render_focus_csv(hand, meta("2026-09"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_every_golden_case_bills_its_hand_worked_grand_total(path):
    charges, _daily, expected = golden_month(path)
    rows = parse(render_focus_csv(charges, meta(charges.month)))
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(expected["grand_total"])
    assert {r["BillingCurrency"] for r in rows} <= {charges.currency}
