"""Invoices, FOCUS export and the finance summary's Reconciliation sheet in modes list, actual and true_up,
read back as a finance tool reads them (openpyxl, csv). The month is tests/unit/billing/test_actual_bill.py's
hand-worked one: list marketing 215.71, research 519.29, unallocated 0.25; actual 207.73, 503.87, 1.53.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.actuals.mapping import read_month_actuals
from chargeback.billing.actual_bill import apply_actual_bill
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.documents.finance_summary import render_finance_summary
from chargeback.documents.focus import render_focus_csv
from chargeback.documents.invoice_workbook import TOTAL_NAME, render_department_workbook
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from tests.fixtures.cost_exports import FOCUS_1_2, export_text, focus_row
from tests.fixtures.invoice_inputs import load, meta, money, named_cell
from tests.unit.billing.test_actual_bill import ACTUAL, CONFIG, EXPORT, month


def billed(mode: str, config_text: str | None = None):
    charges, usage, actuals, config = month(mode)
    if config_text is not None:
        config = parse_config(config_text)
        charges = price_month("2026-10", usage, config)
    return apply_actual_bill(charges, usage, actuals, config)


def focus(charges) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render_focus_csv(charges, meta()).decode("utf-8"))))


def figures(rows, department: str) -> list[tuple[str, str, str, str, str, str]]:
    return [(r["x_ChargeKind"], r["ChargeCategory"], r["x_Meter"], r["BilledCost"], r["EffectiveCost"],
             r["ListCost"]) for r in rows if r["SubAccountId"] == department]


def rows_of(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)]


def section(sheet, title: str) -> list[list]:
    """The table rows under a section title, up to its total row."""
    rows = rows_of(sheet)
    start = next(i for i, row in enumerate(rows) if row[0] == title) + 2   # title, header
    out = []
    for row in rows[start:]:
        out.append(row)
        if isinstance(row[0], str) and row[0].startswith("Your part"):
            return out
    raise AssertionError(f"no total under {title}")


# ---- mode actual ---------------------------------------------------------------------------------------

def test_actual_invoice_lists_each_meters_part_of_the_bill():
    book = load(render_department_workbook(billed("actual"), "marketing", [], meta()))
    sheet = book["Invoice"]
    got = [(r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[11]) for r in section(sheet, "Azure's actual cost, per meter")]
    # marketing: input 2,000,000 of 3,600,000 billed, 7.20 -> 4.00; output 500,000 (billed 700,000, measured
    # 750,000 in all: by measured) 5.60 x 2/3 = 3.733.. -> 3.73; the pool 700.00 x 200,000 / 700,000 = 200.00
    assert got == [
        ("gpt-4o", "Input tokens", "gpt 4o 0806 Inp glbl Tokens", 2_000_000, 3_600_000, "tokens", 7.2, 4),
        ("gpt-4o", "Output tokens", "gpt 4o 0806 Outp glbl Tokens", 500_000, 700_000, "tokens", 5.6, 3.73),
        ("gpt-4o-ptu", "Provisioned throughput (by weighted use)", "Provisioned Managed Global", 200_000, 700_000,
         "weighted tokens", 700, 200),
        ("Your part of Azure's actual bill", None, None, None, None, None, None, 207.73)]
    assert money(named_cell(book, TOTAL_NAME).value) == Decimal("207.73")
    # the list-price tables are not the charges in this mode
    assert not any(r[0] == "Pay-as-you-go usage" for r in rows_of(sheet))


def test_actual_focus_bills_the_actual_shares_and_keeps_list_cost():
    rows = focus(billed("actual"))
    # research: input 2.00 (list 1M x 2.50/1M = 2.50), output 1.87 (list 2.50); pool 500.00 split by weighted
    # tokens 300,000 : 200,000 = 300.00, 200.00 (list shares of 514.29: 308.57, 205.72)
    assert figures(rows, "research") == [
        ("payg", "Usage", "input", "2.00", "2.00", "2.50"), ("payg", "Usage", "output", "1.87", "1.87", "2.50"),
        ("pool-share", "Usage", "input", "300.00", "300.00", "308.57"),
        ("pool-share", "Usage", "output", "200.00", "200.00", "205.72")]
    # unallocated: its input row carries 1.20 (0.20 measured + 1.00 nobody measured); the unmapped meter is a
    # row of its own, an Adjustment whose ListCost matches its BilledCost (no related charge, no unit price)
    assert figures(rows, "unallocated") == [("payg", "Usage", "input", "1.20", "1.20", "0.25"),
                                            ("actual", "Adjustment", "", "0.33", "0.33", "0.33")]
    for dept, total in ACTUAL.items():
        mine = [r for r in rows if r["SubAccountId"] == dept]
        assert sum(Decimal(r["BilledCost"]) for r in mine) == total == sum(Decimal(r["EffectiveCost"]) for r in mine)


# ---- mode true_up --------------------------------------------------------------------------------------

def test_true_up_invoice_has_list_lines_and_one_true_up_line():
    sheet = load(render_department_workbook(billed("true_up"), "research", [], meta()))["Invoice"]
    rows = rows_of(sheet)
    labels = {r[0]: r[11] for r in rows if r[0] in ("Pay-as-you-go total", "Pool shares total", "List-price lines "
              "above", "Your part of Azure's actual bill", "True-up to Azure's actual bill", "Subtotal")}
    # list 5.00 + 514.29 = 519.29; actual 503.87; true-up 503.87 - 519.29 = -15.42
    assert labels == {"Pay-as-you-go total": 5, "Pool shares total": 514.29, "List-price lines above": 519.29,
                      "Your part of Azure's actual bill": 503.87, "True-up to Azure's actual bill": -15.42,
                      "Subtotal": 503.87}
    explained = section(sheet, "How your part of Azure's actual bill was worked out, per meter")
    assert [r[11] for r in explained] == [2, 1.87, 500, 503.87]


def test_true_up_focus_is_list_billed_actual_effective_and_one_adjustment():
    rows = focus(billed("true_up"))
    # BilledCost at list, EffectiveCost the actual parts; the true-up row bills -15.42 with ListCost 0
    assert figures(rows, "research") == [
        ("payg", "Usage", "input", "2.50", "2.00", "2.50"), ("payg", "Usage", "output", "2.50", "1.87", "2.50"),
        ("pool-share", "Usage", "input", "308.57", "300.00", "308.57"),
        ("pool-share", "Usage", "output", "205.72", "200.00", "205.72"),
        ("true-up", "Adjustment", "", "-15.42", "0", "0")]
    # unallocated: list 0.25; actual 1.20 on the input row; the unmapped 0.33 has no row: on the true-up row
    assert figures(rows, "unallocated") == [("payg", "Usage", "input", "0.25", "1.20", "0.25"),
                                            ("true-up", "Adjustment", "", "1.28", "0.33", "0")]
    true_up = next(r for r in rows if r["x_ChargeKind"] == "true-up" and r["SubAccountId"] == "unallocated")
    assert true_up["ContractedCost"] == "0" and true_up["ChargeFrequency"] == "Usage-Based"
    assert true_up["ChargeDescription"].startswith("True-up to Azure's actual bill (FOCUS 1.2 export focus.csv): "
                                                   "list-price lines 0.25, actual 1.53 (unmapped: no list-price")
    for dept, total in ACTUAL.items():
        mine = [r for r in rows if r["SubAccountId"] == dept]
        assert sum(Decimal(r["BilledCost"]) for r in mine) == total == sum(Decimal(r["EffectiveCost"]) for r in mine)


def test_markup_rows_stay_beside_the_actual_costs():
    rows = focus(billed("actual", CONFIG.replace("MODE", "actual").replace("currency: USD",
                                                                             "currency: USD\nmarkup_percent: 10")))
    fee = next(r for r in rows if r["SubAccountId"] == "marketing" and r["x_ChargeKind"] == "markup")
    assert (fee["BilledCost"], fee["EffectiveCost"]) == ("20.77", "20.77")   # 10% of 207.73, half up


# ---- the Reconciliation sheet --------------------------------------------------------------------------

def test_reconciliation_sheet_in_list_mode():
    book = load(render_finance_summary(billed("list"), meta()))
    rows = rows_of(book["Reconciliation"])
    header = rows.index(next(r for r in rows if r[0] == "Meter or pool"))
    body = rows[header + 1:]
    # input: measured 3,100,000 (2M + 1M + 0.1M) of 3,600,000 billed: 500,000 / 3,600,000 = 13.89% bypassed;
    # list 3.1M x 2.50/1M = 7.75, actual 7.20, difference -0.55 = -7.10% of list
    # output: measured 750,000 of 700,000 billed: -7.14% (measured but not billed); list 7.50, actual 5.60:
    # -1.90 = -25.33%
    # pool: weighted 700,000 measured, 744 hours billed (no bypass share); list 720.00, actual 700.00: -20.00,
    # -2.78% (beyond the default 2)
    # unmapped mini meter: 2,200 x 1K = 2,200,000 tokens billed, no list cost, 0.33 to unallocated
    assert [r[:5] + r[6:9] for r in body[:4]] == [
        ["gpt-4o/input", "gpt 4o 0806 Inp glbl Tokens", 3_100_000, 3_600_000, "Tokens", 7.75, 7.2, -0.55],
        ["gpt-4o/output", "gpt 4o 0806 Outp glbl Tokens", 750_000, 700_000, "Tokens", 7.5, 5.6, -1.9],
        ["pool:gpt-4o-ptu", "Provisioned Managed Global", 700_000, 744, "Hour", 720, 700, -20],
        ["unmapped: gpt 4o mini 0718 Inp glbl Tokens", "gpt 4o mini 0718 Inp glbl Tokens", 0, 2_200_000, "Tokens",
         0, 0.33, 0.33]]
    shares = [(r[5], r[9]) for r in body[:4]]
    assert abs(shares[0][0] - 5 / 36) < 1e-12 and abs(shares[0][1] - (-0.55 / 7.75)) < 1e-12
    assert abs(shares[1][0] - (-50 / 700)) < 1e-12 and abs(shares[1][1] - (-1.9 / 7.5)) < 1e-12
    assert shares[2][0] is None and abs(shares[2][1] - (-20 / 720)) < 1e-12
    assert shares[3] == (None, None)
    assert [r[10] for r in body[:4]] == ["Drift beyond the warning limit"] * 3 + ["No list cost: all to unallocated"]
    # totals: list 7.75 + 7.50 + 720 + 0 = 735.25; actual 713.13; -22.12
    assert body[4][0] == "Total (USD)" and body[4][6:9] == [735.25, 713.13, -22.12]


def test_reconciliation_sheet_flags_only_drift_beyond_the_limit():
    tolerant = CONFIG.replace("MODE", "actual").replace("  meters:", "  drift_warn_percent: 14\n  meters:")
    rows = rows_of(load(render_finance_summary(billed("actual", tolerant), meta()))["Reconciliation"])
    flags = {r[0]: r[10] for r in rows if isinstance(r[0], str) and ("/" in r[0] or ":" in r[0])}
    # input: 13.89% bypassed and -7.10% cost: within 14; output -25.33% beyond; pool -2.78% within
    assert flags == {"gpt-4o/input": None, "gpt-4o/output": "Drift beyond the warning limit",
                     "pool:gpt-4o-ptu": None,
                     "unmapped: gpt 4o mini 0718 Inp glbl Tokens": "No list cost: all to unallocated"}


def test_no_reconciliation_sheet_without_actuals():
    charges, usage, _, config = month("list")
    assert "Reconciliation" not in load(render_finance_summary(apply_actual_bill(charges, usage, None, config),
                                                               meta())).sheetnames


def test_actual_mode_summary_columns_add_up_to_the_actual_subtotal():
    rows = rows_of(load(render_finance_summary(billed("actual"), meta()))["Summary"])
    marketing = next(r for r in rows if r[0] == "marketing")
    # pay-as-you-go 4.00 + 3.73, pool 200.00: 207.73
    assert marketing[4:9] == [7.73, 200, 207.73, 0, 207.73]


# ---- price entries with only some rates ----------------------------------------------------------------

def test_an_audio_hour_only_price_renders_in_workbook_and_focus():
    config = parse_config("currency: USD\ndepartments: [{id: legal, subscriptions: [sub-l]}]\n"
                          "prices: [{deployment: whisper, effective_from: 2026-01-01, audio_hour: 0.36}]\n")
    usage = aggregate_month("2026-10", [UsageRecord("r1", datetime(2026, 10, 3, tzinfo=UTC), "sub-l", "whisper",
                                                    meters=MeterQuantities(audio_seconds=Decimal(1800)))])
    charges = price_month("2026-10", usage, config)
    line = charges.departments[0].lines[0]
    assert (line.unit, line.input_rate, line.output_rate) == (None, None, None)
    book = load(render_department_workbook(charges, "legal", [], meta()))
    assert money(named_cell(book, TOTAL_NAME).value) == Decimal("0.18")   # 1,800 s = half an hour x 0.36
    (row,) = focus(charges)
    assert (row["BilledCost"], row["ListUnitPrice"], row["x_Meter"]) == ("0.18", "0.36", "audio_seconds")


# ---- property: EffectiveCost is the actual bill ---------------------------------------------------------

cents = st.decimals(min_value=Decimal("-5"), max_value=Decimal("5000"), places=4)


@settings(max_examples=40, deadline=None)
@given(st.lists(cents, min_size=4, max_size=4), st.lists(st.integers(0, 10_000), min_size=4, max_size=4),
       st.sampled_from(["actual", "true_up"]))
def test_focus_effective_cost_sums_to_the_actual_bill(costs, quantities, mode):
    _, usage, _, config = month(mode)
    rows = [focus_row(meter, str(cost), str(quantity), unit=unit)
            for (meter, _c, _q, unit), cost, quantity in zip(EXPORT, costs, quantities, strict=True)]
    actuals = read_month_actuals(io.BytesIO(export_text(FOCUS_1_2, rows).encode()), "focus.csv", "2026-10", config)
    charges = apply_actual_bill(price_month("2026-10", usage, config), usage, actuals, config)
    exported = focus(charges)
    bill = sum(costs, Decimal(0)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert sum(Decimal(r["EffectiveCost"]) for r in exported) == bill == charges.grand_total
    assert sum(Decimal(r["BilledCost"]) for r in exported) == bill
    for dept in charges.departments:
        mine = [r for r in exported if r["SubAccountId"] == dept.department]
        assert sum(Decimal(r["EffectiveCost"]) for r in mine) == dept.subtotal
