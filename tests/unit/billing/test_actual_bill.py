"""The actual bill: a hand-worked month per mode, and allocations that always sum to the bill exactly."""
from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.actuals.mapping import read_month_actuals
from chargeback.actuals.model import MappedCost, MonthActuals, UnmappedCost
from chargeback.billing.actual_bill import allocate, apply_actual_bill
from chargeback.billing.actual_lines import department_lines
from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from tests.fixtures.cost_exports import AOAI, FOCUS_1_2, export_text, focus_row

CONFIG = f"""
currency: USD
departments:
  - {{id: marketing, subscriptions: [sub-mkt]}}
  - {{id: research, subscriptions: [sub-res]}}
prices:
  - {{deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, output: 10.00}}
pools:
  - {{deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 720.00,
      weights: {{input: 1, cached_input: 0, output: 4}}}}
actuals:
  mode: MODE
  resources: ["{AOAI}"]
  meters:
    "gpt 4o 0806 Inp glbl Tokens":  {{deployment: gpt-4o, meter: input}}
    "gpt 4o 0806 Outp glbl Tokens": {{deployment: gpt-4o, meter: output}}
    "Provisioned Managed Global":   {{pool: gpt-4o-ptu}}
"""
# (subscription, deployment, prompt, completion) in October 2026
RECORDS = [("sub-mkt", "gpt-4o", 2_000_000, 500_000), ("sub-res", "gpt-4o", 1_000_000, 250_000),
           ("sub-res", "gpt-4o-ptu", 300_000, 50_000),    # weighted 300,000 + 4 x 50,000 = 500,000
           ("sub-mkt", "gpt-4o-ptu", 100_000, 25_000),    # weighted 100,000 + 4 x 25,000 = 200,000
           ("sub-stray", "gpt-4o", 100_000, 0)]           # nobody's: unallocated
# At list: marketing 2M x 2.50 + 0.5M x 10 = 10.00, pool 720 x 2/7 = 205.71 -> 215.71;
# research 1M x 2.50 + 0.25M x 10 = 5.00, pool 720 x 5/7 = 514.29 -> 519.29; unallocated 0.1M x 2.50 = 0.25.
LIST = {"marketing": Decimal("215.71"), "research": Decimal("519.29"), "unallocated": Decimal("0.25")}
# Azure billed: input 3,600 x 1K tokens for 7.20 (measured 3,100,000: 500,000 bypassed the gateway);
# output 700 x 1K for 5.60 (measured 750,000 > billed: shared by measured); the pool 700.00; 0.33 unmapped.
EXPORT = [("gpt 4o 0806 Inp glbl Tokens", "7.20", "3600", "1K Tokens"),
          ("gpt 4o 0806 Outp glbl Tokens", "5.60", "700", "1K Tokens"),
          ("Provisioned Managed Global", "700.00", "744", "1 Hour"),
          ("gpt 4o mini 0718 Inp glbl Tokens", "0.33", "2200", "1K Tokens")]
# input 7.20: marketing 7.20 x 2.0/3.6 = 4.00, research 2.00, unallocated 0.20 + 7.20 x 0.5/3.6 = 1.00
# output 5.60 by measured: marketing 5.60 x 500/750 = 3.7333.., research 1.8666..
# pool 700.00 by weighted use 2:5: marketing 200.00, research 500.00; unmapped 0.33 -> unallocated
# exact: marketing 207.7333.., research 503.8666.., unallocated 1.53; total 713.13, in cents 20773.33 /
# 50386.67 / 153: floors 71312, the one cent left goes to the largest remainder (research).
ACTUAL = {"marketing": Decimal("207.73"), "research": Decimal("503.87"), "unallocated": Decimal("1.53")}


def month(mode: str):
    config = parse_config(CONFIG.replace("MODE", mode))
    usage = aggregate_month("2026-10", (
        UsageRecord(record_id=f"r{n}", timestamp=datetime(2026, 10, 5 + n, 12, tzinfo=UTC), subscription=sub,
                    deployment=dep, prompt_tokens=prompt, completion_tokens=completion)
        for n, (sub, dep, prompt, completion) in enumerate(RECORDS)))
    rows = [focus_row(meter, cost, quantity, unit=unit) for meter, cost, quantity, unit in EXPORT]
    actuals = read_month_actuals(io.BytesIO(export_text(FOCUS_1_2, rows).encode()), "focus.csv", "2026-10", config)
    return price_month("2026-10", usage, config), usage, actuals, config


def test_list_prices_of_the_hand_month():
    charges, *_ = month("list")
    assert {d.department: d.total for d in charges.departments} == LIST


def test_list_mode_leaves_the_month_as_priced():
    charges, usage, _, config = month("list")
    assert apply_actual_bill(charges, usage, None, config) is charges


def test_list_mode_with_actuals_warns_of_drift_beyond_the_configured_percent():
    charges, usage, actuals, config = month("list")
    reconciled = apply_actual_bill(charges, usage, actuals, config)
    assert reconciled.departments == charges.departments
    # input: list 3,100,000 x 2.50/1M = 7.75 vs 7.20 = -7.1%; billed 3.6M, measured 3.1M: 0.5/3.6 = 13.9%
    # output: list 750,000 x 10/1M = 7.50 vs 5.60 = -25.3%; measured 50,000 over billed 700,000 = 7.1%
    # pool: list 720.00 vs 700.00 = -2.8% (above the default 2)
    assert reconciled.warnings[len(charges.warnings):] == (
        "actual bill drift on gpt-4o/input: list 7.75, actual 7.20 USD (-7.1%); billed 3,600,000 vs measured "
        "3,100,000: 13.9% bypassed the gateway",
        "actual bill drift on gpt-4o/output: list 7.50, actual 5.60 USD (-25.3%); billed 700,000 vs measured "
        "750,000: 7.1% measured but not billed",
        "actual bill drift on pool:gpt-4o-ptu: list 720.00, actual 700.00 USD (-2.8%)")
    tolerant = parse_config(CONFIG.replace("MODE", "list").replace("  meters:", "  drift_warn_percent: 30\n  meters:"))
    assert apply_actual_bill(charges, usage, actuals, tolerant).warnings == charges.warnings


def test_actual_mode_charges_the_hand_worked_shares_of_the_bill():
    charges, usage, actuals, config = month("actual")
    billed = apply_actual_bill(charges, usage, actuals, config)
    assert {d.department: d.total for d in billed.departments} == ACTUAL
    assert billed.grand_total == Decimal("713.13") == sum(ACTUAL.values())
    assert any("mode actual: invoiced at Azure's actual bill of 713.13 USD" in w for w in billed.warnings)
    assert any("not in actuals.meters (gpt 4o mini 0718 Inp glbl Tokens)" in w for w in billed.warnings)


def test_true_up_keeps_list_lines_and_adds_one_line_per_department():
    charges, usage, actuals, config = month("true_up")
    billed = apply_actual_bill(charges, usage, actuals, config)
    assert billed.mode == "true_up"
    for before, after in zip(charges.departments, billed.departments, strict=True):
        assert after.lines == before.lines
        assert after.true_up is not None
        assert after.true_up.list_subtotal == LIST[after.department]
        assert after.true_up.actual == ACTUAL[after.department]
        assert after.subtotal == sum(line.amount for line in after.lines) + after.true_up.amount
    # 207.73 - 215.71, 503.87 - 519.29, 1.53 - 0.25
    assert [d.true_up.amount for d in billed.departments if d.true_up] == [
        Decimal("-7.98"), Decimal("-15.42"), Decimal("1.28")]


def test_actual_mode_lines_are_each_meters_part_of_the_bill():
    charges, usage, actuals, config = month("actual")
    billed = apply_actual_bill(charges, usage, actuals, config)
    assert billed.mode == "actual"
    got = {d.department: [(a.target, a.measured, a.billed, a.actual_cost, a.amount) for a in d.actual_lines]
           for d in billed.departments}
    # marketing exact, in cents: input 400, output 373.33.., pool 20,000 = 20,773.33..; its total 20,773 (the
    # bill's largest remainder); the -0.33.. gap spread by size: 399.9936, 373.3273, 19,999.679: floors 20,771,
    # the two cents left to the largest remainders, input (.99) and pool (.68): 4.00, 3.73, 200.00.
    assert got["marketing"] == [
        ("gpt-4o/input", Decimal(2_000_000), Decimal(3_600_000), Decimal("7.20"), Decimal("4.00")),
        ("gpt-4o/output", Decimal(500_000), Decimal(700_000), Decimal("5.60"), Decimal("3.73")),
        ("pool:gpt-4o-ptu", Decimal(200_000), Decimal(700_000), Decimal("700.00"), Decimal("200.00"))]
    # research: 200, 186.66.., 50,000 = 50,386.66..; total 50,387; +0.33.. spread: 200.0013, 186.6679,
    # 50,000.33: floors 50,386, the cent left to output (.67): 2.00, 1.87, 500.00.
    assert got["research"] == [
        ("gpt-4o/input", Decimal(1_000_000), Decimal(3_600_000), Decimal("7.20"), Decimal("2.00")),
        ("gpt-4o/output", Decimal(250_000), Decimal(700_000), Decimal("5.60"), Decimal("1.87")),
        ("pool:gpt-4o-ptu", Decimal(500_000), Decimal(700_000), Decimal("700.00"), Decimal("500.00"))]
    # unallocated: its 100,000 measured input tokens (0.20) and the 500,000 nobody measured (1.00) of the
    # input meter; the unmapped mini meter 0.33.
    assert got["unallocated"] == [
        ("gpt-4o/input", Decimal(100_000), Decimal(3_600_000), Decimal("7.20"), Decimal("1.20")),
        ("unmapped", Decimal(0), Decimal(0), Decimal("0.33"), Decimal("0.33"))]
    for dept in billed.departments:
        assert dept.subtotal == sum(a.amount for a in dept.actual_lines) and dept.true_up is None


def test_the_trued_up_month_survives_its_stored_form():
    charges, usage, actuals, config = month("true_up")
    billed = apply_actual_bill(charges, usage, actuals, config)
    assert type(billed).from_dict(billed.to_dict()) == billed


def test_a_mode_without_actuals_invoices_at_list_with_a_warning():
    charges, usage, _, config = month("actual")
    billed = apply_actual_bill(charges, usage, None, config)
    assert billed.departments == charges.departments
    assert any("no actuals are imported for 2026-10: invoiced at list prices" in w for w in billed.warnings)


def test_markup_stays_on_top_of_the_actual_subtotal():
    _, usage, actuals, _ = month("actual")
    with_fee = CONFIG.replace("MODE", "actual").replace("currency: USD", "currency: USD\nmarkup_percent: 10")
    marked = parse_config(with_fee)
    billed = apply_actual_bill(price_month("2026-10", usage, marked), usage, actuals, marked)
    assert {d.department: (d.subtotal, d.markup) for d in billed.departments} == {
        "marketing": (Decimal("207.73"), Decimal("20.77")), "research": (Decimal("503.87"), Decimal("50.39")),
        "unallocated": (Decimal("1.53"), Decimal("0.15"))}


DEPARTMENTS = ("a", "b", "c", "unallocated")
amounts = st.decimals(min_value=Decimal("-50"), max_value=Decimal("100000"), places=6)
quantities = st.integers(min_value=0, max_value=10**9)


@st.composite
def bills(draw):
    mapped, measured, weighted = [], {}, {}
    for n in range(draw(st.integers(1, 4))):
        deployment = f"d{n}"
        users = DEPARTMENTS[:draw(st.integers(0, 4))]
        measured[deployment] = {d: MeterQuantities(input=draw(quantities)) for d in users}
        mapped.append(MappedCost(target=f"{deployment}/input", deployment=deployment, meter="input", pool=None,
                                 meter_names=("m",), cost=draw(amounts), quantity=Decimal(draw(quantities)), unit="",
                                 rows=1))
    if draw(st.booleans()):
        weighted["p"] = {d: Fraction(draw(quantities)) for d in DEPARTMENTS[:draw(st.integers(0, 3))]}
        mapped.append(MappedCost(target="pool:p", deployment=None, meter=None, pool="p", meter_names=("p",),
                                 cost=draw(amounts), quantity=Decimal(720), unit="Hour", rows=1))
    unmapped = tuple(UnmappedCost("u", draw(amounts), Decimal(1), "", 1) for _ in range(draw(st.integers(0, 1))))
    actuals = MonthActuals("2026-10", "USD", "f.csv", "FOCUS 1.2", "sha256:x", 1, 1, tuple(mapped), unmapped)
    return actuals, measured, weighted


@settings(max_examples=300, deadline=None)
@given(bills())
def test_allocations_sum_exactly_to_the_actual_bill(case):
    actuals, measured, weighted = case
    bill = allocate("2026-10", "USD", actuals, measured, weighted)
    assert sum(bill.departments.values(), Decimal(0)) == bill.total
    assert bill.total == actuals.total_cost.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert all(a == a.quantize(Decimal("0.01")) for a in bill.departments.values())
    # each department is within a cent of its exact share of the rounded bill (an oracle in Fractions)
    exact: dict[str, Fraction] = {}
    for shares in bill.by_target.values():
        for dept, share in shares.items():
            exact[dept] = exact.get(dept, Fraction(0)) + share
    whole = Fraction(actuals.total_cost)
    for dept, amount in bill.departments.items():
        target = exact[dept] * Fraction(bill.total) / whole if whole else exact[dept]
        assert abs(Fraction(amount) - target) < Fraction(1, 100)
    # the lines of each department (one per target it has a part of) sum to its total, to the cent
    lines = department_lines(bill, actuals, measured, weighted)
    for dept, amount in bill.departments.items():
        assert sum((a.amount for a in lines[dept]), Decimal(0)) == amount
        assert all(a.amount == a.amount.quantize(Decimal("0.01")) for a in lines[dept])
        assert {a.target for a in lines[dept]} <= set(bill.by_target) | {"unmapped"}
    for target, shares in bill.by_target.items():
        cost = actuals.unmapped_cost if target == "unmapped" else next(m.cost for m in actuals.mapped
                                                                       if m.target == target)
        assert sum(shares.values(), Fraction(0)) == Fraction(cost)


def test_notice_and_portal_amounts_add_up_to_the_invoice_in_every_mode():
    from chargeback.owners.portal_detail import _rows
    from chargeback.workflow.notifying import deployment_amounts

    for mode in ("list", "actual", "true_up"):
        charges, usage, actuals, config = month(mode)
        billed = apply_actual_bill(charges, usage, actuals, config)
        for dept in billed.departments:
            assert sum(a for _, a in deployment_amounts(billed, dept.department)) == dept.subtotal
            assert sum(r[3] for r in _rows(dept)) == dept.total
    # research, hand-worked above: actual 500.00 pool + 2.00 + 1.87; true_up list 514.29 + 5.00 and -15.42
    assert deployment_amounts(apply_actual_bill(*month("actual")), "research") == (
        ("gpt-4o-ptu", Decimal("500.00")), ("gpt-4o", Decimal("3.87")))
    assert deployment_amounts(apply_actual_bill(*month("true_up")), "research") == (
        ("gpt-4o-ptu", Decimal("514.29")), ("gpt-4o", Decimal("5.00")),
        ("true-up to Azure's actual bill", Decimal("-15.42")))
