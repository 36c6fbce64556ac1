"""Retail Prices pages -> proposed price entries: exact when certain, a question when not, and an invoice after."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chargeback.billing.pricing import price_month
from chargeback.config.loading import config_from_dict, parse_config
from chargeback.prices.merge import config_with_proposals
from chargeback.prices.meter_names import deployment_words, read_provisioned, read_token_meter
from chargeback.prices.propose import propose_prices
from chargeback.prices.retail import InvalidPriceFile, read_pages
from chargeback.usage.aggregation import aggregate_month
from tests.fixtures.invoice_inputs import HAND_CONFIG, HAND_GRAND_TOTAL, HAND_TOTALS, hand_records

PAGES = sorted((Path(__file__).resolve().parents[2] / "data" / "retail_prices").glob("*.json"))
RETAIL = read_pages([(p.name, p.read_text()) for p in PAGES])

CONFIG = """\
currency: USD
departments: [{id: marketing, subscriptions: [sub-mkt]}]
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
  - {deployment: gpt-4o-mini, effective_from: 2026-01-01, unit: 1M, input: 0.15, output: 0.60}
  - {deployment: gpt-5, effective_from: 2026-01-01, unit: 1K, input: 0.00125, cached_input: 0.000125, output: 0.01}
  - {deployment: o3-mini, effective_from: 2026-01-01, unit: 1M, input: 1.00, output: 4.00, audio_hour: 0.36}
pools:
  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, ptus: 2, hourly_rate: 0.90, weights: {input: 1, output: 4}}
"""


def review(text: str = CONFIG, **options):
    return propose_prices(parse_config(text), RETAIL, **options)


def test_meter_names_read_as_documented_examples():
    assert read_token_meter("gpt 4o 0806 cached Inp glbl Tokens").offer == "gpt 4o 0806 / Global"
    assert read_token_meter("gpt 4o 0806 cached Inp glbl Tokens").meter == "cached_input"
    assert read_token_meter("5.4 opt Dz 1M Tokens").deployment_type == "Data Zone"
    assert read_token_meter("gpt 4o 0806 Batch Inp glbl Tokens") is None       # batch: not a gateway meter
    assert read_token_meter("Provisioned Managed Global") is None
    assert read_provisioned("Provisioned Managed Data Zone") == "Data Zone"
    assert deployment_words("gpt-4o-2024-08-06") == ["gpt", "4o", "0806"]


def test_the_pages_read_exactly():
    assert len(RETAIL.items) == 24 and RETAIL.next_page_link is None
    first = RETAIL.items[0]
    assert (first.price, first.block, first.effective_from) == (Decimal("0.0025"), 1000, date(2026, 9, 1))
    only_first = read_pages([(PAGES[0].name, PAGES[0].read_text())])
    assert only_first.next_page_link and "$skip=1000" in only_first.next_page_link
    assert any("pages are missing" in n for n in propose_prices(parse_config(CONFIG), only_first).notes)


def test_certain_matches_are_proposed_and_ambiguous_ones_asked():
    result = review(region="eastus")
    proposed = {p.deployment: p for p in result.prices}
    # gpt-4o-mini: 0.00015 / 0.000075 / 0.0006 per 1K = 0.15 / 0.075 / 0.6 per 1M; cached is new
    assert proposed["gpt-4o-mini"].to_entry() == {"deployment": "gpt-4o-mini", "effective_from": "2026-09-01",
                                                 "unit": "1M", "cached_input": "0.075", "input": "0.15",
                                                 "output": "0.6"}
    # o3-mini (serviceName "Cognitive Services", the older name) is listed since 2025-01-31, before the config's
    # entry of 2026-01-01 with other rates: asked, not backdated (see the next test for the answer)
    assert "o3-mini" not in proposed
    assert "gpt-5" in result.unchanged                 # 1.25 / 0.125 / 10 per 1M = its 1K rates x 1000
    [pool] = result.pools
    assert (pool.deployment, pool.hourly_rate, pool.ptus) == ("gpt-4o-ptu", Decimal("1.0"), 2)
    questions = {q.deployment: q for q in result.questions}
    assert set(questions) == {"gpt-4o", "o3-mini"}
    question = questions["gpt-4o"]
    assert "several model versions" in question.question
    assert [o.split(":")[0] for o in question.options] == ["gpt 4o 0513 / Global", "gpt 4o 0806 / Global",
                                                           "gpt 4o 0806 / Regional"]
    assert any("reservation price, not chosen: Provisioned Managed Global 260" in n for n in result.notes)
    assert any("tiered prices" in n for n in result.notes)


def test_prices_that_differ_by_region_are_asked_without_region():
    questions = {q.deployment: q for q in review().questions}
    assert "differs by region" in questions["gpt-4o-mini"].question
    assert "(eastus 0.075, swedencentral 0.0825 per 1M)" in questions["gpt-4o-mini"].question   # cached_input
    assert questions["gpt-4o-mini"].answer_with == "--region REGION"


def test_a_pick_answers_the_question():
    result = review(region="eastus", picks={"gpt-4o": "GPT 4o 0806 / Regional"})
    entry = next(p for p in result.prices if p.deployment == "gpt-4o").to_entry()
    assert (entry["input"], entry["cached_input"], entry["output"]) == ("2.75", "1.375", "11")
    wrong = review(region="eastus", picks={"gpt-4o": "gpt 4o 1120 / Global"})
    assert next(q for q in wrong.questions if q.deployment == "gpt-4o").question.startswith("the pick")


def test_actuals_meters_name_the_meters_exactly():
    text = CONFIG + """\
actuals:
  resources: ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"]
  meters:
    "gpt 4o 0806 Inp glbl Tokens": {deployment: gpt-4o, meter: input}
    "gpt 4o 0806 Outp glbl Tokens": {deployment: gpt-4o, meter: output}
"""
    result = review(text, region="eastus")
    assert "gpt-4o" in result.unchanged                 # 0.0025 / 0.01 per 1K are its 2.50 / 10.00 per 1M
    assert all(q.deployment != "gpt-4o" for q in result.questions)


def test_a_price_dated_before_the_latest_entry_is_asked_not_backdated():
    text = CONFIG.replace("  - {deployment: gpt-5, effective_from: 2026-01-01, unit: 1K, input: 0.00125,",
                        "  - {deployment: gpt-5, effective_from: 2026-10-01, unit: 1K, input: 0.002,")
    asked = next(q for q in review(text, region="eastus").questions if q.deployment == "gpt-5")
    assert "since 2026-09-01, before the config's entry of 2026-10-01" in asked.question
    dated = {p.deployment: p for p in review(text, region="eastus", effective_from=date(2026, 11, 1)).prices}
    assert dated["gpt-5"].effective_from == date(2026, 11, 1)
    # o3-mini: 0.0011 / 0.0044 per 1K = 1.1 / 4.4 per 1M; its audio_hour (not on the pages) is carried over
    assert dated["o3-mini"].to_entry() == {"deployment": "o3-mini", "effective_from": "2026-11-01",
                                          "unit": "1M", "input": "1.1", "output": "4.4", "audio_hour": "0.36"}


@pytest.mark.parametrize(("text", "says"), [
    ("not json", "is not JSON"),
    ('{"Items": {}}', "has no Items list"),
    ('{"Items": [{"meterName": "m", "unitOfMeasure": "1K", "retailPrice": "free", '
     '"effectiveStartDate": "2026-01-01"}]}', "Items[0].retailPrice must be a number"),
    ('{"Items": [{"meterName": "m", "unitOfMeasure": "1K", "retailPrice": 1, "effectiveStartDate": "soon"}]}',
     "is not a date"),
])
def test_bad_pages_are_refused_by_name(text, says):
    with pytest.raises(InvalidPriceFile, match=re.escape(says)):
        read_pages([("page.json", text)])


def test_proposed_prices_written_into_the_hand_config_invoice_the_hand_month():
    # The hand month's config without its first gpt-4o entry (2.50 / 1.25 / 10.00 per 1M from 2026-01-01);
    # the Retail pages list exactly those rates for gpt 4o 0806 Global. Proposed from 2026-09-01 and written
    # back, the config must invoice October exactly as the hand-worked totals say.
    first_entry = ("  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, "
                   "output: 10.00}\n")
    assert first_entry in HAND_CONFIG
    config = parse_config(HAND_CONFIG.replace(first_entry, ""))
    result = propose_prices(config, RETAIL, region="eastus", picks={"gpt-4o": "gpt 4o 0806 / Global"},
                            effective_from=date(2026, 9, 1))
    assert [(p.deployment, p.effective_from) for p in result.prices] == [("gpt-4o", date(2026, 9, 1))]
    assert {q.deployment for q in result.questions} >= {"text-embedding-3-large"}   # no Retail meter: asked
    written = yaml.safe_dump(config_with_proposals(config, result), sort_keys=False)
    invoiced = parse_config(written)
    assert [(p.effective_from, p.rate("input"), p.rate("cached_input"), p.rate("output"))
            for p in invoiced.price_history("gpt-4o")] == [
        (date(2026, 9, 1), Decimal("2.5"), Decimal("1.25"), Decimal("10")),
        (date(2026, 10, 16), Decimal("2.00"), Decimal("1.00"), Decimal("8.00"))]
    charges = price_month("2026-10", aggregate_month("2026-10", hand_records()), invoiced)
    for department in charges.departments:
        figures = HAND_TOTALS[department.department]
        assert (department.subtotal, department.markup, department.total) == (
            figures["subtotal"], figures["markup"], figures["total"])
    assert sum(d.total for d in charges.departments) == HAND_GRAND_TOTAL
    assert config_from_dict(invoiced.to_dict()) == invoiced
