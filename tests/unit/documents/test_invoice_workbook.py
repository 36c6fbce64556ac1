"""The department invoice workbook, read back with openpyxl as a finance tool or a person would read it."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.documents.invoice_workbook import render_department_workbook
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.daily import DailyUsageRow, daily_usage
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from tests.fixtures.invoice_inputs import (
    ERROR_LOOKING_COST_CENTER,
    GOLDEN,
    HAND_TOTALS,
    HOSTILE_DEPLOYMENT,
    HOSTILE_NAME,
    HOSTILE_SUBSCRIPTION,
    UNICODE_NAME,
    golden_month,
    hand_records,
    load,
    meta,
    money,
    named_cell,
    texts,
)


def render(month, department: str, **meta_args) -> bytes:
    charges, daily, _config = month
    return render_department_workbook(charges, department, daily.get(department, []),
                                      meta(charges.month, **meta_args))


def line_tables(sheet) -> dict[str, list[dict]]:
    """Each table of the Invoice sheet (keyed by the section title above it) as rows keyed by header text;
    a line's further meters (rows with only the meter columns) are gathered under the line's ``meters``."""
    tables, rows = {}, list(sheet.iter_rows(values_only=True))
    for index, row in enumerate(rows):
        if row[0] in ("Subscription", "Subscriptions") and row[1]:
            header, found = row, []
            for line in rows[index + 1:]:
                if line[0] is None and found and line[4]:   # the next meter of the line above
                    shown = zip(header, line, strict=False)
                    found[-1]["meters"].append({h: v for h, v in shown if h and v is not None})
                    continue
                if line[0] is None or str(line[0]).endswith(" total") or not line[1]:
                    break
                shown = {h: v for h, v in zip(header, line, strict=False) if h}
                meter = {h: v for h, v in shown.items() if h in METER_HEADERS and v is not None}
                found.append({**shown, "meters": [meter] if meter.get("Meter") else []})
            tables[rows[index - 1][0]] = found
    return tables


METER_HEADERS = ("Meter", "Quantity", "Unit", "Rate", "Rate per", "Cost at rate", "Weight", "Weighted", "Why")


def meters_of(line: dict) -> dict[str, tuple]:
    """``{meter label: (quantity, unit or weight, rate or weighted)}`` of one line."""
    return {m["Meter"]: (m.get("Quantity"), m.get("Unit", m.get("Weight")), m.get("Rate", m.get("Weighted")))
            for m in line["meters"]}


def labelled(sheet, label: str):
    """The last figure on the row whose first cell reads ``label``."""
    for row in sheet.iter_rows(values_only=True):
        if row[0] == label:
            return [v for v in row if isinstance(v, (int, float))][-1]
    raise AssertionError(f"no row labelled {label!r}")


# --- the figures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("department", ["marketing", "research", "legal", "unallocated"])
def test_totals_are_the_hand_worked_figures(hand_inputs, department):
    sheet = load(render(hand_inputs, department))["Invoice"]
    expected = HAND_TOTALS[department]
    assert money(labelled(sheet, "Subtotal")) == expected["subtotal"]
    assert money(labelled(sheet, "Platform fee (10% of subtotal)")) == expected["markup"]
    assert money(labelled(sheet, "Total due (USD)")) == expected["total"]


def test_total_is_a_value_under_a_defined_name_and_repeated_as_amount_due(hand_inputs):
    workbook = load(render(hand_inputs, "marketing"))
    total = named_cell(workbook, "InvoiceTotal")
    assert total.data_type == "n" and money(total.value) == Decimal("1371.16")
    assert total.number_format == "#,##0.00"
    amount_due = [row for row in workbook["Invoice"].iter_rows(max_row=8) if row[9].value == "Amount due (USD)"]
    assert money(amount_due[0][11].value) == Decimal("1371.16")


def test_hand_lines_show_meters_quantities_units_and_rates(hand_inputs):
    tables = line_tables(load(render(hand_inputs, "marketing"))["Invoice"])
    payg = tables["Pay-as-you-go usage"]
    assert [(r["Subscription"], r["Deployment"], r["Period"]) for r in payg] == [
        (HOSTILE_SUBSCRIPTION, "gpt-4o", "1–15 Oct 2026"), (HOSTILE_SUBSCRIPTION, "gpt-4o", "16–31 Oct 2026"),
        ("sub-mkt-02", "text-embedding-3-large", "1–31 Oct 2026")]
    # 1,000,000 prompt tokens of which 200,000 cached: 800,000 input + 200,000 cached input
    assert meters_of(payg[0]) == {"Input tokens": (800_000, "tokens", 2.5), "Cached input tokens": (200_000, "tokens",
                                  1.25), "Output tokens": (100_000, "tokens", 10)}
    assert [m["Rate per"] for m in payg[0]["meters"]] == ["1M tokens"] * 3
    # the second period had no cached tokens: that meter is left out, not shown as 0
    assert list(meters_of(payg[1])) == ["Input tokens", "Output tokens"]
    assert meters_of(payg[2]) == {"Input tokens": (2_000_000, "tokens", 0.00013)}   # embeddings: no output row
    assert payg[2]["meters"][0]["Rate per"] == "1K tokens"
    assert [money(m["Cost at rate"]) for m in payg[0]["meters"]] == [Decimal("2"), Decimal("0.25"), Decimal("1")]
    assert [money(r["Amount (USD)"]) for r in payg] == [Decimal("3.25"), Decimal("3.00"), Decimal("0.26")]
    (pool,) = tables["Provisioned throughput (PTU) pool shares"]
    assert pool["Pool"] == "gpt-4o-ptu" and pool["Subscriptions"] == "sub-mkt-02"
    # weights input 1, cached input 0, output 4: 200,000 + 0 + 200,000 of the pool's 1,000,000
    assert meters_of(pool) == {"Input tokens": (200_000, 1, 200_000), "Cached input tokens": (100_000, 0, 0),
                               "Output tokens": (50_000, 4, 200_000)}
    assert pool["Pool weighted total"] == 1_000_000
    assert money(pool["Share of pool"]) == Decimal("0.4")
    assert money(pool["Pool cost"]) == Decimal("3100") and money(pool["Amount (USD)"]) == Decimal("1240")


def test_every_meter_is_shown_with_its_unit_and_rate():
    audio, daily, _expected = golden_month(next(p for p in GOLDEN if p.stem == "meters_audio"))
    sheet = load(render_department_workbook(audio, "voice", daily["voice"], meta(audio.month)))["Invoice"]
    line = line_tables(sheet)["Pay-as-you-go usage"][0]
    assert meters_of(line) == {"Input tokens": (200_000, "tokens", 2.5), "Cached input tokens": (100_000, "tokens",
                               1.25), "Audio input tokens": (800_000, "tokens", 40), "Cached audio input tokens":
                               (200_000, "tokens", 2.5), "Output tokens": (100_000, "tokens", 10),
                               "Audio output tokens": (500_000, "tokens", 80)}
    assert money(line["Line before rounding"]) == Decimal("74.125") and money(line["Amount (USD)"]) == Decimal(
        "74.13")
    seconds, daily, _expected = golden_month(next(p for p in GOLDEN if p.stem == "meters_audio_seconds"))
    sheet = load(render_department_workbook(seconds, "calls", daily["calls"], meta(seconds.month)))["Invoice"]
    whisper = line_tables(sheet)["Pay-as-you-go usage"][0]
    assert meters_of(whisper) == {"Audio seconds": (3644, "seconds", 0.36)}
    assert whisper["meters"][0]["Rate per"] == "hour"


def test_unpriced_meters_are_listed_on_the_invoice():
    unpriced, daily, _expected = golden_month(next(p for p in GOLDEN if p.stem == "meters_unpriced"))
    sheet = load(render_department_workbook(unpriced, "ops", daily["ops"], meta(unpriced.month)))["Invoice"]
    tables = line_tables(sheet)
    assert meters_of(tables["Pay-as-you-go usage"][0]) == {"Input tokens": (100_000, "tokens", 2.5)}
    gpt, whisper = tables["Usage not charged"]
    assert [(m["Meter"], m["Quantity"]) for m in gpt["meters"]] == [("Audio input tokens", 10_000),
                                                                    ("Audio output tokens", 5_000)]
    assert "names no rate for audio input tokens, audio output tokens" in gpt["meters"][0]["Why"]
    assert [(m["Meter"], m["Quantity"]) for m in whisper["meters"]] == [("Input characters", 700)]


@pytest.mark.parametrize("department", ["marketing", "sales", "research", "legal", "unallocated"])
def test_generated_lines_add_up_to_the_priced_total(generated_inputs, department):
    charges = generated_inputs[0]
    priced = charges.department(department)
    sheet = load(render(generated_inputs, department))["Invoice"]
    tables = line_tables(sheet)
    shown = [money(r["Amount (USD)"]) for title in ("Pay-as-you-go usage", "Provisioned throughput (PTU) pool "
                                                    "shares") for r in tables.get(title, [])]
    assert len(shown) == len(priced.lines)
    assert sorted(shown) == sorted(line.amount for line in priced.lines)   # each to the cent
    subtotal, fee, total = (money(labelled(sheet, label)) for label in
                            ("Subtotal", "Platform fee (2.5% of subtotal)", "Total due (USD)"))
    assert sum(shown, Decimal(0)) == subtotal == priced.subtotal
    assert subtotal + fee == total == priced.total
    assert money(named_cell(sheet.parent, "InvoiceTotal").value) == priced.total


def test_no_formulas_anywhere_in_the_file(generated_inputs, hand_inputs):
    for data in (render(generated_inputs, "marketing"), render(hand_inputs, "marketing"),
                 render(hand_inputs, "research")):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name


# --- hostile and unusual text ------------------------------------------------------------------------


def test_hostile_names_stay_text(hand_inputs):
    workbook = load(render(hand_inputs, "marketing"))
    cells = texts(workbook)
    name = [c for c in cells["Invoice"] if c.value == HOSTILE_NAME]
    subscription = [c for c in cells["Invoice"] if c.value == HOSTILE_SUBSCRIPTION]
    assert name and subscription
    for cell in name + subscription:
        assert cell.data_type == "s"
        assert cell.quotePrefix   # editing the cell in Excel keeps it text as well
    assert all(c.data_type in ("s", "n", "d") for ws in workbook for row in ws.iter_rows() for c in row
               if c.value is not None)


def test_hostile_deployment_and_error_looking_cost_center_stay_text(hand_inputs):
    workbook = load(render(hand_inputs, "research"))
    sheet = workbook["Invoice"]
    found = {c.value: c for c in texts(workbook)["Invoice"]}
    assert found[HOSTILE_DEPLOYMENT].data_type == "s"
    assert found[ERROR_LOOKING_COST_CENTER].data_type == "s"   # not the error value #N/A
    assert found[UNICODE_NAME].data_type == "s"
    (unpriced,) = line_tables(sheet)["Usage not charged"]
    assert unpriced["Deployment"] == HOSTILE_DEPLOYMENT
    assert meters_of(unpriced) == {"Input tokens": (1_000, "tokens", None), "Output tokens": (500, "tokens", None)}
    assert "not charged" in unpriced["meters"][0]["Why"]
    detail = [row for row in workbook["Usage detail"].iter_rows(values_only=True) if row[1] == HOSTILE_DEPLOYMENT]
    assert detail and detail[0][4] == 1_000


def test_unmetered_streams_are_noted(hand_inputs):
    notes = [c.value for c in texts(load(render(hand_inputs, "research")))["Invoice"]]
    assert any("1 streamed request(s) on gpt-4o never reported their usage" in n for n in notes)


def test_control_characters_in_names_do_not_break_rendering():
    config = parse_config("""
currency: USD
departments: [{id: ops, name: "Ops", subscriptions: [sub-ops]}]
prices: [{deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 1, output: 1}]
""")
    # the config refuses control characters; a usage record's deployment name can still carry one (unpriced)
    records = [UsageRecord("r1", datetime(2026, 10, 1, 12), "sub-ops", "gpt-4o", prompt_tokens=1_000_000),
               UsageRecord("r2", datetime(2026, 10, 1, 12), "sub-ops", "gpt\x07bell", prompt_tokens=10)]
    usage = aggregate_month("2026-10", records)
    charges = price_month("2026-10", usage, config)
    workbook = load(render_department_workbook(charges, "ops", daily_usage(usage, config, "ops"), meta()))
    assert "gpt\ufffdbell" in [c.value for c in texts(workbook)["Invoice"]]
    assert money(named_cell(workbook, "InvoiceTotal").value) == Decimal("1.00")


# --- document facts, layout and print -----------------------------------------------------------------


def test_heading_facts(hand_inputs):
    sheet = load(render(hand_inputs, "research"))["Invoice"]
    facts = {row[0]: row[1] for row in sheet.iter_rows(min_row=4, max_row=6, max_col=2, values_only=True)}
    facts.update({row[0]: row[1] for row in sheet.iter_rows(min_row=4, max_row=6, min_col=5, max_col=6,
                                                             values_only=True)})
    assert facts["Invoice number"] == "CB-2026-10-RESEARCH-1"
    assert facts["Issue date"] == datetime(2026, 11, 2)
    assert facts["Billing period"] == "October 2026"
    assert facts["Department"] == UNICODE_NAME
    assert facts["Cost center"] == ERROR_LOOKING_COST_CENTER
    assert facts["Currency"] == "USD"
    assert sheet["A2"].value == "Contoso AI Platform"


def test_revised_marker_only_on_a_revision(hand_inputs):
    revised = load(render(hand_inputs, "marketing", version=2, revision=True))["Invoice"]
    first = load(render(hand_inputs, "marketing"))["Invoice"]
    assert any("REVISED" in str(c.value) for row in revised.iter_rows(max_row=2) for c in row)
    assert not any("REVISED" in str(c.value) for row in first.iter_rows() for c in row)
    numbers = [c.value for row in revised.iter_rows(max_row=6) for c in row]
    assert "CB-2026-10-MARKETING-2" in numbers


def test_number_formats_frozen_panes_and_print_setup(generated_inputs):
    workbook = load(render(generated_inputs, "marketing"))
    invoice, daily, detail = workbook["Invoice"], workbook["Daily usage"], workbook["Usage detail"]
    payg = next(row for row in invoice.iter_rows() if row[0].value == "sub-marketing-01")
    assert payg[5].number_format == "#,##0"              # the first meter's quantity (tokens)
    assert payg[11].number_format == "#,##0.00"          # amount
    header_row = next(row[0].row for row in invoice.iter_rows() if row[0].value == "Subscription")
    assert invoice.freeze_panes == f"A{header_row + 1}"
    assert daily.freeze_panes == "B5" and detail.freeze_panes == "A5"
    for sheet in (invoice, daily, detail):
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert "Page &P of &N" in sheet.oddFooter.right.text
    # issue 13: one page orientation throughout
    assert {ws.page_setup.orientation for ws in workbook.worksheets} == {"landscape"}
    widths = {letter: dim.width for letter, dim in invoice.column_dimensions.items()}
    assert set("ABCDEFGHIJKL") <= set(widths) and all(10 <= w <= 30 for w in widths.values())


def test_money_follows_the_currency_minor_unit():
    config = parse_config("""
currency: JPY
departments: [{id: tokyo, name: Tokyo, subscriptions: [sub-tokyo]}]
prices: [{deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 375, output: 1500}]
""")
    # 1,234,567 x 375 / 1M = 462.962625 yen -> 463
    usage = aggregate_month("2026-10", [UsageRecord("r1", datetime(2026, 10, 9, 9), "sub-tokyo", "gpt-4o",
                                                    prompt_tokens=1_234_567)])
    charges = price_month("2026-10", usage, config)
    workbook = load(render_department_workbook(charges, "tokyo", daily_usage(usage, config, "tokyo"), meta()))
    total = named_cell(workbook, "InvoiceTotal")
    assert total.value == 463 and total.number_format == "#,##0"
    assert labelled(workbook["Invoice"], "Total due (JPY)") == 463


# --- daily usage and its chart ------------------------------------------------------------------------


def test_daily_usage_sheet_has_every_day_the_hand_costs_and_a_chart(hand_inputs):
    workbook = load(render(hand_inputs, "marketing"))
    sheet = workbook["Daily usage"]
    header = [c.value for c in sheet[4]]
    assert header == ["Day", "gpt-4o", "gpt-4o-ptu", "text-embedding-3-large", "Total"]
    days = {row[0].date(): tuple(money(v) for v in row[1:5]) for row in sheet.iter_rows(min_row=5, values_only=True)
            if isinstance(row[0], datetime)}
    assert sorted(days) == [date(2026, 10, d) for d in range(1, 32)]
    # issue 13: cost, not tokens, worked by hand in tests/fixtures/invoice_inputs.py (HAND_RECORDS)
    assert days[date(2026, 10, 2)] == (Decimal("3.25"), 0, 0, Decimal("3.25"))
    assert days[date(2026, 10, 3)] == (0, Decimal("1240.00"), 0, Decimal("1240.00"))   # the pool share
    assert days[date(2026, 10, 5)] == (0, 0, Decimal("0.26"), Decimal("0.26"))
    assert days[date(2026, 10, 20)] == (Decimal("3.00"), 0, 0, Decimal("3.00"))       # the new rates
    totals = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "Total")
    assert tuple(money(v) for v in totals[1:5]) == (Decimal("6.25"), Decimal("1240.00"), Decimal("0.26"),
                                                    HAND_TOTALS["marketing"]["subtotal"])
    assert sheet["B5"].number_format == "#,##0.00" and "Cost per day" in str(sheet._charts[0].title.tx.rich.p[0].r[0].t)
    (chart,) = sheet._charts
    assert chart.tagname == "barChart" and chart.grouping == "stacked"
    assert len(chart.series) == 3
    with zipfile.ZipFile(io.BytesIO(render(hand_inputs, "marketing"))) as archive:
        assert any(name.startswith("xl/charts/chart") for name in archive.namelist())


def test_department_without_usage_says_so_and_has_no_chart(hand_inputs):
    sheet = load(render(hand_inputs, "legal"))["Daily usage"]
    assert sheet["A4"].value == "No charged usage this month."
    assert not sheet._charts


def test_usage_detail_lists_each_day_and_deployment(hand_inputs):
    rows = [r for r in load(render(hand_inputs, "marketing"))["Usage detail"].iter_rows(min_row=5, values_only=True)
            if isinstance(r[0], datetime)]
    assert [(r[0].date().day, r[1]) for r in rows] == [(2, "gpt-4o"), (3, "gpt-4o-ptu"),
                                                       (5, "text-embedding-3-large"), (20, "gpt-4o")]
    # requests, without usage, input tokens (uncached), cached input, output, reasoning: the meters marketing used
    assert rows[1][2:] == (1, 0, 200_000, 100_000, 50_000, 0)
    header = next(r for r in load(render(hand_inputs, "marketing"))["Usage detail"].iter_rows(values_only=True)
                  if r[0] == "Day")
    assert header[4:] == ("Input tokens", "Cached input tokens", "Output tokens", "Reasoning tokens")


# --- determinism and properties ------------------------------------------------------------------------


def test_same_inputs_same_bytes_and_properties_carry_the_issue_date(generated_inputs):
    first, second = render(generated_inputs, "sales"), render(generated_inputs, "sales")
    assert first == second
    props = load(first).properties
    assert props.created == props.modified == datetime(2026, 11, 2)
    assert props.creator == "Contoso AI Platform"
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 2, 0, 0, 0)}


def test_refuses_a_department_without_charges_and_a_mismatched_month(hand_inputs):
    charges, _daily, _ = hand_inputs
    with pytest.raises(ValueError, match="no charges"):
        render_department_workbook(charges, "nobody", [], meta())
    with pytest.raises(ValueError, match="2026-09"):
        render_department_workbook(charges, "legal", [], meta("2026-09"))


# --- the small pieces ----------------------------------------------------------------------------------


def test_invoice_number_and_meta_round_trip():
    m = InvoiceMeta("Platform", "2026-10", date(2026, 11, 1), 3, True, "r-9")
    assert m.invoice_number("marketing") == "CB-2026-10-MARKETING-3"
    assert InvoiceMeta.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    with pytest.raises(ValueError, match="version must be a whole number from 1"):
        InvoiceMeta("Platform", "2026-10", date(2026, 11, 1), 0, False, "r")


def test_daily_usage_sums_subscriptions_and_models_per_day_and_deployment(hand_inputs):
    _charges, _daily, config = hand_inputs
    extra = UsageRecord("extra", datetime(2026, 10, 2, 23), "sub-mkt-02", "gpt-4o", prompt_tokens=5, cached_tokens=1,
                        completion_tokens=7, reasoning_tokens=3, model="gpt-4o-2024-11-20")
    usage = aggregate_month("2026-10", [*hand_records(), extra])
    rows = daily_usage(usage, config, "marketing")
    day2 = [r for r in rows if r.day == date(2026, 10, 2)]
    # (1,000,000 - 200,000) + (5 - 1) uncached input, 200,000 + 1 cached, 100,000 + 7 output, 3 reasoning
    assert day2 == [DailyUsageRow(date(2026, 10, 2), "gpt-4o", 2, 0, 1_000_005, 200_001, 100_007, 3,
                                  MeterQuantities(input=800_004, cached_input=200_001, output=100_007, reasoning=3))]
    assert [r.deployment for r in daily_usage(usage, config, "unallocated")] == ["gpt-4o"]
    assert daily_usage(usage, config, "legal") == []
    assert [DailyUsageRow.from_dict(json.loads(json.dumps(r.to_dict()))) for r in rows] == rows


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_every_golden_case_renders_its_hand_worked_totals(path):
    charges, daily, expected = golden_month(path)
    for department, figures in expected["departments"].items():
        workbook = load(render_department_workbook(charges, department, daily.get(department, []),
                                                   meta(charges.month)))
        assert money(named_cell(workbook, "InvoiceTotal").value) == Decimal(figures["total"]), department
        sheet = workbook["Invoice"]
        assert money(labelled(sheet, "Subtotal")) == Decimal(figures["subtotal"])
