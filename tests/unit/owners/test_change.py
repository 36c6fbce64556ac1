"""Why a department's cost changed (issue 13): more or less usage, a price change, a config change, late
usage, the actual bill; a revision's earlier total and difference."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, TrueUpLine
from chargeback.owners.change import explain, sentence
from chargeback.usage.meters import MeterQuantities


def line(amount: str, input_tokens: int = 1_000_000, rate: str = "2.50", subscription: str = "sub-mkt",
         deployment: str = "gpt-4o") -> PaygLine:
    return PaygLine(subscription, deployment, ("gpt-4o",), date(2026, 10, 1), date(2026, 10, 31), "1M",
                    Decimal(rate), None, None, 10, 0, input_tokens, 0, 0, 0, Decimal(amount), Decimal(amount),
                    MeterQuantities(input=input_tokens), {"input": Decimal(rate)})


def month(lines: list[PaygLine], total: str, fingerprint: str = "sha256:a", markup: str = "0",
          name: str = "2026-10") -> tuple[MonthCharges, DepartmentCharges]:
    dept = DepartmentCharges("marketing", "Marketing", "CC-1", tuple(lines), Decimal(total), Decimal(0),
                             Decimal(total))
    return MonthCharges(name, "USD", 2, Decimal(markup), fingerprint, (dept,), (), (), (), Decimal(total)), dept


OCTOBER = month([line("2.50")], "2.50", name="2026-10")


def test_more_usage_at_the_same_prices():
    november = month([line("5.00", input_tokens=2_000_000)], "5.00", name="2026-11")
    change = explain(OCTOBER, november, revision=False)
    assert (change.earlier, change.difference, change.reasons) == (Decimal("2.50"), Decimal("2.50"), ("more usage",))
    assert sentence(change, "USD") == "+2.50 USD: more usage"


def test_less_usage():
    november = month([line("1.25", input_tokens=500_000)], "1.25", name="2026-11")
    assert explain(OCTOBER, november, revision=False).reasons == ("less usage",)
    assert sentence(explain(OCTOBER, november, revision=False), "USD") == "-1.25 USD: less usage"


def test_a_price_change_with_the_same_usage_is_only_a_price_change():
    november = month([line("3.00", rate="3.00")], "3.00", fingerprint="sha256:b", name="2026-11")
    assert explain(OCTOBER, november, revision=False).reasons == ("a price change",)


def test_a_new_subscription_or_markup_is_a_config_change():
    moved = month([line("2.50"), line("0.00", input_tokens=0, subscription="sub-new")], "2.50",
                  fingerprint="sha256:b", name="2026-11")
    assert explain(OCTOBER, moved, revision=False).reasons == ("a config change",)
    marked_up = month([line("2.50")], "2.75", fingerprint="sha256:b", markup="10", name="2026-11")
    assert explain(OCTOBER, marked_up, revision=False).reasons == ("a config change",)


def test_a_config_edit_elsewhere_is_not_this_departments_config_change():
    november = month([line("2.50")], "2.50", fingerprint="sha256:other-departments-edit", name="2026-11")
    change = explain(OCTOBER, november, revision=False)
    assert change.reasons == () and change.difference == 0 and sentence(change, "USD") == "0.00 USD: no change"


def test_a_revision_with_usage_that_arrived_later_is_late_usage():
    revised = month([line("3.75", input_tokens=1_500_000)], "3.75")
    change = explain(OCTOBER, revised, revision=True)
    assert (change.earlier, change.total, change.difference) == (Decimal("2.50"), Decimal("3.75"), Decimal("1.25"))
    assert change.reasons == ("late usage",)


def test_a_revision_from_imported_actuals_names_the_actual_bill():
    mc, dept = OCTOBER
    trued = replace(dept, true_up=TrueUpLine(Decimal("2.50"), Decimal("2.40"), Decimal("-0.10"), "focus.csv"),
                    total=Decimal("2.40"))
    change = explain(OCTOBER, (mc, trued), revision=True)
    assert change.reasons == ("the actual bill",) and change.difference == Decimal("-0.10")


def test_several_reasons_at_once_and_nothing_to_compare():
    november = month([line("9.00", input_tokens=3_000_000, rate="3.00")], "9.00", fingerprint="sha256:b",
                     name="2026-11")
    assert explain(OCTOBER, november, revision=False).reasons == ("a price change", "more usage")
    first = explain(None, OCTOBER, revision=False)
    assert first.earlier is None and first.difference is None and sentence(first, "USD") == ""
