"""The integer largest remainder of the month-to-date cells answers only where it is the 60-digit Decimal one.

chargeback/billing/mtd_split: ``whole_parts`` (integers) must give what ``decimal_parts`` (the definition,
the split the cells were first made with) gives for the same weights, or decline (None). Random weights of
every shape the cells make (small and equal ones, thirds and sevenths of the total, huge ones) and the one
case where the two differ: equal exact remainders of shares of different magnitude at the cut.
"""
from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from chargeback.billing.mtd_split import EXACT_BELOW, decimal_parts, whole_parts


def _decimal(units: int, weights: list[int], scale: Decimal = Decimal(1)) -> list[int]:
    keys = [f"k{n:03d}" for n in range(len(weights))]   # in order: ties go to the earlier key
    weighed = {k: Decimal(w) * scale for k, w in zip(keys, weights, strict=True)}
    parts = decimal_parts(Decimal(units) / 100, weighed, Decimal("0.01"))
    return [parts[k] for k in keys]


@pytest.mark.parametrize("seed", range(6))
def test_whole_parts_are_the_decimal_parts_or_nothing(seed: int):
    rng = random.Random(seed)
    answered = declined = 0
    for _ in range(400):
        n = rng.randint(1, 60)
        shape = rng.choice(["small", "equal", "wide", "huge", "few values", "thirds"])
        if shape == "small":
            weights = [rng.randint(0, 9) for _ in range(n)]
        elif shape == "equal":
            weights = [rng.choice([3, 7, 21]) * rng.randint(1, 2) for _ in range(n)]
        elif shape == "wide":
            weights = [rng.randint(0, 10 ** rng.randint(1, 18)) for _ in range(n)]
        elif shape == "huge":
            weights = [rng.randint(10 ** 30, 10 ** 40) for _ in range(n)]
        elif shape == "few values":
            weights = [rng.choice([1, 2, 4, 7]) for _ in range(n)]
        else:   # ones and fours (and sevens): shares of every magnitude that leave the same remainder
            weights = [rng.choice([1, 4, 7]) for _ in range(rng.choice([3, 6, 9]))]
        if not any(weights):
            weights[0] = 1
        units = rng.choice([1, 2, 3, 9, 10, 99, rng.randint(1, 10 ** 7), rng.randint(1, 10 ** 12)]) \
            if shape != "thirds" else rng.randint(1, 40)
        mine = whole_parts(units, weights)
        if mine is None:
            declined += 1
            continue
        answered += 1
        assert sum(mine) == units
        # a scale the cells' integer weights leave out (10**R / unit) changes nothing in the Decimal split
        assert mine == _decimal(units, weights) == _decimal(units, weights, Decimal("0.0000025")), (units, weights)
    assert answered > 300 and declined > 0


def test_too_large_a_product_is_declined():
    assert whole_parts(10 ** 10, [10 ** 48, 1]) is None
    assert whole_parts(10, [EXACT_BELOW // 100 - 1, 1]) is not None


def test_equal_remainders_of_shares_of_different_magnitude_at_the_cut():
    """3 steps by 4 : 4 : 1: the exact shares 4/3, 4/3, 1/3 all leave a third; the one step left over goes
    to the first key exactly (Fraction), but 60 digits round 1/3 (59 threes after the point) and 4/3 (58)
    apart, and the Decimal split gives it to the last. The integer split declines: the Decimal one stands."""
    exact = {k: 3 * Fraction(w, 9) for k, w in (("k000", 4), ("k001", 4), ("k002", 1))}
    assert [x - int(x) for x in exact.values()] == [Fraction(1, 3)] * 3
    assert _decimal(3, [4, 4, 1]) == [1, 1, 1]   # not [2, 1, 0]
    assert whole_parts(3, [4, 4, 1]) is None


def test_equal_remainders_of_shares_of_one_magnitude_are_split_in_key_order():
    assert whole_parts(3, [4, 4, 4, 4, 4, 4, 4, 4, 4]) == _decimal(3, [4] * 9) == [1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert whole_parts(4, [1, 1, 1]) == _decimal(4, [1, 1, 1]) == [2, 1, 1]
    assert whole_parts(29, [10, 10, 9]) == _decimal(29, [10, 10, 9])
