"""Cost per day (issue 13): each deployment's invoice lines split over its days, to the minor unit, so the
days add up to the invoice subtotal exactly, in every golden month and a generated one."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chargeback.documents.daily_cost import daily_cost
from tests.fixtures.invoice_inputs import GOLDEN, golden_month


def check(charges, daily):
    step = Decimal(1).scaleb(-charges.minor_unit)
    for dept in charges.departments:
        cells, undated = daily_cost(dept, daily.get(dept.department, []), step)
        assert sum(cells.values(), Decimal(0)) + undated == dept.subtotal - (dept.true_up.amount if dept.true_up
                                                                              else 0), dept.department
        assert all(v >= 0 and v == v.quantize(step) for v in cells.values())


def test_a_generated_month_adds_up(generated_inputs):
    charges, daily, _ = generated_inputs
    check(charges, daily)
    assert any(daily_cost(d, daily.get(d.department, []), Decimal("0.01"))[0] for d in charges.departments)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_every_golden_month_adds_up(path):
    charges, daily, _ = golden_month(path)
    check(charges, daily)


def test_nothing_charged_nothing_shown():
    assert daily_cost(None, [], Decimal("0.01")) == ({}, Decimal(0))
