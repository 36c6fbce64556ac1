"""The FOCUS 1.2 CSV export, parsed as a FinOps tool would parse it (the validator: tests/integration)."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.documents.focus import render_focus_csv
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.record import UsageRecord
from tests.fixtures.invoice_inputs import (
    ERROR_LOOKING_COST_CENTER,
    GOLDEN,
    HAND_GRAND_TOTAL,
    HAND_TOTALS,
    HOSTILE_DEPLOYMENT,
    HOSTILE_NAME,
    UNICODE_NAME,
    golden_month,
    hand_month,
    meta,
)

# FOCUS mandatory columns, from the specification (not from the module under test).
MANDATORY = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "BillingAccountId",
             "BillingAccountName", "BillingCurrency", "ChargeCategory", "ChargeClass", "ChargeDescription",
             "InvoiceIssuerName", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
             "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"]
ASKED_FOR = ["SubAccountId", "SubAccountName", "ConsumedQuantity", "ConsumedUnit", "SkuId", "ResourceId",
             "ResourceName", "Tags", "x_CostCenter", "x_Subscription", "x_PricePeriod", "x_InvoiceNumber",
             "SkuMeter", "SkuPriceId", "ListUnitPrice", "InvoiceId", "ServiceSubcategory", "ChargeFrequency",
             "PricingCategory", "SkuPriceDetails", "ResourceType"]
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
    kinds = [(r["x_ChargeKind"], r["x_Meter"], r["BilledCost"]) for r in marketing]
    # One row per meter with usage: 3.25 = 800,000 x 2.50 + 200,000 x 1.25 + 100,000 x 10.00 (per 1M);
    # 3.00 = 500,000 x 2.00 + 250,000 x 8.00 (no cached tokens: no row); embeddings 2,000,000 x 0.00013/1K;
    # the pool share 1,240.00 split by weighted use 200,000 : 0 : 200,000 (input, cached, output x 4).
    assert kinds == [("payg", "input", "2.00"), ("payg", "cached_input", "0.25"), ("payg", "output", "1.00"),
                     ("payg", "input", "1.00"), ("payg", "output", "2.00"), ("payg", "input", "0.26"),
                     ("pool-share", "input", "620.00"), ("pool-share", "cached_input", "0.00"),
                     ("pool-share", "output", "620.00"), ("markup", "", "124.65")]
    first = marketing[0]
    assert (first["ChargePeriodStart"], first["ChargePeriodEnd"]) == ("2026-10-01T00:00:00Z", "2026-10-16T00:00:00Z")
    assert marketing[3]["ChargePeriodEnd"] == "2026-11-01T00:00:00Z"      # end exclusive
    assert first["x_PricePeriod"] == "2026-10-01/2026-10-15" and first["x_PriceEffectiveFrom"] == "2026-01-01"
    assert (first["ConsumedQuantity"], first["ConsumedUnit"]) == ("800000", "Tokens")
    assert (first["PricingQuantity"], first["PricingUnit"], first["ListUnitPrice"]) == ("0.8", "1000000 Tokens",
                                                                                      "2.50")
    assert (first["SkuId"], first["SkuPriceId"], first["SkuMeter"]) == ("gpt-4o/payg", "gpt-4o/payg/input",
                                                                        "Input tokens")
    assert json.loads(first["SkuPriceDetails"])["x_Meter"] == "input"
    assert (first["ResourceId"], first["ResourceName"], first["ResourceType"]) == ("gpt-4o", "gpt-4o",
                                                                                 "Azure OpenAI deployment")
    assert (first["ServiceSubcategory"], first["ChargeFrequency"], first["PricingCategory"]) == (
        "Generative AI", "Usage-Based", "Standard")
    assert first["InvoiceId"] == first["x_InvoiceNumber"] == "CB-2026-10-MARKETING-1"
    assert first["x_CostCenter"] == "CC-1001" and first["BillingAccountId"] == "chargeback"
    assert json.loads(first["Tags"]) == {"chargeback/department": "marketing", "chargeback/costCenter": "CC-1001"}
    # requests are carried by a line's first row only, so they add up over rows
    assert [r["x_Requests"] for r in marketing[:3]] == ["1", "0", "0"]
    assert marketing[1]["x_LineAmount"] == "3.25"
    pool = marketing[8]
    assert (pool["PricingQuantity"], pool["PricingUnit"], pool["x_PoolWeight"]) == ("200000", "Weighted Tokens", "4")
    assert (pool["ConsumedQuantity"], pool["ListUnitPrice"], pool["ChargeFrequency"]) == ("50000", "", "Recurring")
    markup = marketing[9]
    assert markup["ConsumedQuantity"] == "" and markup["PricingQuantity"] == "" and markup["SkuId"] == ""
    unpriced = [r for r in rows if r["x_ChargeKind"] == "unpriced"]
    # the unpriced deployment's 1,000 input and 500 output tokens: one row per meter, nothing charged
    assert [(r["x_Meter"], r["ConsumedQuantity"], r["BilledCost"]) for r in unpriced] == [
        ("input", "1000", "0.00"), ("output", "500", "0.00")]
    assert "not charged" in unpriced[0]["ChargeDescription"]


def test_a_line_is_split_over_its_meters_by_largest_remainder():
    charges, _daily, _expected = golden_month(next(p for p in GOLDEN if p.stem == "meters_audio"))
    rows = [r for r in parse(render_focus_csv(charges, meta(charges.month))) if r["SkuId"] == "gpt-4o-audio/payg"]
    # list costs 0.50 + 0.125 + 32.00 + 0.50 + 1.00 + 40.00 = 74.125 -> the line bills 74.13; in cents the shares
    # of 7,413 are 50.003, 12.5008, 3,200.2, 50.003, 100.007, 4,000.3: floors sum to 7,412, the one cent left
    # goes to the largest remainder (cached input, .5008).
    assert [(r["x_Meter"], r["ListCost"], r["BilledCost"]) for r in rows] == [
        ("input", "0.50", "0.50"), ("cached_input", "0.125", "0.13"), ("audio_input", "32.00", "32.00"),
        ("cached_audio_input", "0.50", "0.50"), ("output", "1.00", "1.00"), ("audio_output", "40.00", "40.00")]
    assert [r["SkuMeter"] for r in rows][2:4] == ["Audio input tokens", "Cached audio input tokens"]
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal("74.13")


def test_duration_and_characters_rows():
    seconds, _d, _e = golden_month(next(p for p in GOLDEN if p.stem == "meters_audio_seconds"))
    [whisper] = [r for r in parse(render_focus_csv(seconds, meta(seconds.month))) if r["SkuId"] == "whisper/payg"]
    # 3,644 s at 0.36 per hour: 3,644 / 3,600 hours x 0.36 = 0.3644
    assert (whisper["ConsumedQuantity"], whisper["ConsumedUnit"], whisper["PricingUnit"]) == ("3644.0", "Seconds",
                                                                                              "Hours")
    assert Decimal(whisper["PricingQuantity"]) == Decimal("1.012222222222222222")   # 3,644 / 3,600, 18 places
    assert (whisper["ListUnitPrice"], whisper["ListCost"], whisper["BilledCost"]) == ("0.36", "0.3644", "0.36")
    speech, _d, _e = golden_month(next(p for p in GOLDEN if p.stem == "meters_characters"))
    tts = next(r for r in parse(render_focus_csv(speech, meta(speech.month))) if r["SkuId"] == "tts/payg")
    assert (tts["ConsumedUnit"], tts["PricingUnit"], tts["SkuMeter"]) == ("Characters", "1000 Characters",
                                                                          "Input characters")


def test_every_row_fills_the_mandatory_columns_validly(generated):
    rows = parse(render_focus_csv(generated, meta(generated.month)))
    assert rows
    for row in rows:
        assert row["BilledCost"] == row["EffectiveCost"] == row["ContractedCost"]
        if row["ListUnitPrice"] and row["ConsumedUnit"] == "Seconds":
            # per hour, prorated per second: seconds / 3,600 hours is written to 18 places
            exact = Decimal(row["ListUnitPrice"]) * Decimal(row["ConsumedQuantity"]) / 3600
            assert abs(Decimal(row["ListCost"]) - exact) < Decimal("1e-17")
            assert abs(Decimal(row["PricingQuantity"]) - Decimal(row["ConsumedQuantity"]) / 3600) < Decimal("1e-17")
        elif row["ListUnitPrice"]:   # FOCUS: ListCost = ListUnitPrice x PricingQuantity, here exactly
            assert Decimal(row["ListUnitPrice"]) * Decimal(row["PricingQuantity"]) == Decimal(row["ListCost"])
        else:
            assert row["ListCost"] == row["BilledCost"]
        assert row["BillingCurrency"] == "USD"
        assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
        start, end = row["ChargePeriodStart"], row["ChargePeriodEnd"]
        assert INSTANT.fullmatch(start) and INSTANT.fullmatch(end) and start < end
        assert start >= "2026-03-01T00:00:00Z" and end <= "2026-04-01T00:00:00Z"
        assert row["ChargeCategory"] in ("Usage", "Adjustment")
        assert row["ChargeClass"] == ""
        assert (row["ServiceName"], row["ServiceCategory"]) == ("Azure OpenAI", "AI and Machine Learning")
        assert row["PublisherName"] == "Microsoft" and row["InvoiceIssuerName"] == "Contoso AI Platform"
        assert row["BillingAccountId"] and row["BillingAccountName"] and row["ChargeDescription"]
        if row["ChargeCategory"] == "Usage":   # FOCUS: quantities, SKU price and meter on usage rows
            assert Decimal(row["PricingQuantity"]) >= 0 and row["PricingUnit"] and row["SkuPriceId"]
            assert Decimal(row["ConsumedQuantity"]) >= 0 and row["SkuMeter"]
            assert row["ConsumedUnit"] in ("Tokens", "Characters", "Seconds", "Requests", "Hours")
            assert not re.search(r"\d[KM] ", row["PricingUnit"])   # "1000000 Tokens", never "1M Tokens"


def test_free_text_is_defused_and_ids_are_validated_not_prefixed(hand):
    rows = parse(render_focus_csv(hand, meta()))
    names = {r["SubAccountName"] for r in rows}
    assert "'" + HOSTILE_NAME in names and UNICODE_NAME in names
    assert "'" + HOSTILE_DEPLOYMENT in {r["ResourceName"] for r in rows}
    # ids keep their value when they look like ids; otherwise they are percent-encoded, never prefixed
    assert "%40SUM%281%2B1%29" in {r["x_Subscription"] for r in rows}            # @SUM(1+1)
    assert "%2Bcmd%7C%27%20%2FC%20calc%27%21A0" in {r["ResourceId"] for r in rows}   # +cmd|' /C calc'!A0
    assert {r["SubAccountId"] for r in rows} == {"marketing", "research", "unallocated"}
    assert ERROR_LOOKING_COST_CENTER in {r["x_CostCenter"] for r in rows}   # "#" starts no formula
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r", "\n")), (column, value)


# Every prefix a spreadsheet reads as a formula, written out here (not taken from the code's own list),
# so dropping any one of them from the rule fails this test.
# payload -> the same text as an identifier (percent-encoded, worked out by hand)
FORMULA_PAYLOADS = {"=1+2": "%3D1%2B2", "+1+2": "%2B1%2B2", "-1+2": "%2D1%2B2", "@SUM(A1)": "%40SUM%28A1%29",
                    "\t=1+2": "%09%3D1%2B2", "\r=1+2": "%0D%3D1%2B2", "\n=1+2": "%0A%3D1%2B2"}


@pytest.mark.parametrize(("payload", "as_id"), FORMULA_PAYLOADS.items(), ids=repr)
def test_each_formula_prefix_is_defused(payload, as_id):
    usage = aggregate_month("2026-10", [UsageRecord("r1", datetime(2026, 10, 3, tzinfo=UTC), "sub-a", payload,
                                                    prompt_tokens=10, model=payload)])
    charges = price_month("2026-10", usage, parse_config(
        "currency: USD\ndepartments: [{id: a, name: A, subscriptions: [sub-a]}]\n"))
    rows = parse(render_focus_csv(charges, meta()))
    assert {r["ResourceName"] for r in rows if r["x_ChargeKind"] == "unpriced"} == {"'" + payload}
    assert {r["x_Models"] for r in rows if r["x_ChargeKind"] == "unpriced"} == {"'" + payload}
    assert {r["ResourceId"] for r in rows if r["x_ChargeKind"] == "unpriced"} == {as_id}
    assert unquote(as_id) == payload


def test_the_billing_account_is_the_setting_not_the_issuer(hand):
    rows = parse(render_focus_csv(hand, replace(meta(), billing_account_id="contoso-ai-01")))
    assert {r["BillingAccountId"] for r in rows} == {"contoso-ai-01"}
    assert {r["BillingAccountName"] for r in rows} == {"Contoso AI Platform"}
    with pytest.raises(ValueError, match="billing account id"):
        replace(meta(), billing_account_id="=evil")


def test_negative_numbers_stay_numbers():
    """A credit (a negative amount, e.g. from a future correction) must not be prefixed like text."""
    from dataclasses import replace
    charges = hand_month()[0]
    research = charges.department("research")
    line = replace(research.lines[0], amount=Decimal("-5.00"))
    credited = replace(research, lines=(line, *research.lines[1:]), subtotal=research.subtotal - 5,
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
    with pytest.raises(ValueError, match="metadata is for 2026-09"):
        render_focus_csv(hand, meta("2026-09"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_every_golden_case_bills_its_hand_worked_grand_total(path):
    charges, _daily, expected = golden_month(path)
    rows = parse(render_focus_csv(charges, meta(charges.month)))
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(expected["grand_total"])
    assert {r["BillingCurrency"] for r in rows} <= {charges.currency}


def test_invoice_ids_are_the_invoices_as_issued(hand):
    """A rerun revises some departments only: the export names each invoice's own version."""
    revised = replace(meta(), numbers=(("marketing", "CB-2026-10-MARKETING-2"),))
    rows = parse(render_focus_csv(hand, revised))
    ids = {(r["SubAccountId"], r["InvoiceId"]) for r in rows}
    assert ids == {("marketing", "CB-2026-10-MARKETING-2"), ("research", "CB-2026-10-RESEARCH-1"),
                   ("unallocated", "CB-2026-10-UNALLOCATED-1")}
