"""The largest remainder of the month-to-date cells (chargeback/billing/mtd_cells), two ways that agree.

``decimal_parts`` is the split the cells were first made with, and stays the definition: the weights as
Decimals summed group by group in the caller's context, each key's share ``units x weight / whole`` in a
60-digit context, the floor of each, the steps left over one each to the largest remainders, ties to the
smallest key. ``whole_parts`` is the same split in integers, for weights that are integer multiples of the
Decimal weights by one common factor: ``divmod(units x w, W)`` gives the floor and the exact remainder.

Why the two agree whenever ``whole_parts`` answers (it returns None otherwise, and the caller takes
``decimal_parts``): with ``units x W < 10**58`` every Decimal weight, their 60-digit sum and each
``units x weight`` are exact (their coefficients are at most ``W`` and ``units x W`` at the line's smallest
exponent), so the only rounding is the one division, correctly rounded: an error under ``units x 10**-59``.
An exact share ``units x w / W`` that is not a whole number is at least ``1/W`` from one, and two different
exact remainders differ by at least ``1/W`` > twice that error: the floors are the same and the remainders
order the same. Only two equal exact remainders may round apart (their shares differ in magnitude, so the
60th digit falls elsewhere); they can change the result only when the steps left over stop between them,
and there ``whole_parts`` declines. (``tests/unit/billing/test_mtd_split.py`` tests both sides of that.)
"""
from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence
from decimal import Decimal, localcontext
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
EXACT_BELOW = 10 ** 58   # units x W under this: the 60-digit split rounds nothing that decides anything


def whole_parts(units: int, weights: Sequence[int]) -> list[int] | None:
    """``units`` split by integer ``weights`` given in the order of their keys (ties go to the earlier key);
    None where ``decimal_parts`` might answer otherwise (see the module's docstring)."""
    whole = sum(weights)
    if units * whole >= EXACT_BELOW:
        return None
    products = [units * weight for weight in weights]
    parts = [product // whole for product in products]
    left_over = units - sum(parts)
    if left_over:
        remainders = [product % whole for product in products]
        # the largest first; a stable sort, reversed or not, keeps equal remainders in key order
        order = sorted(range(len(parts)), key=remainders.__getitem__, reverse=True)
        if left_over < len(order) and remainders[order[left_over - 1]] == remainders[order[left_over]] \
                and not _rounded_alike(parts, remainders, order, left_over):
            return None   # equal remainders either side of the cut that the 60-digit figures may order apart
        for at in order[:left_over]:
            parts[at] += 1
    return parts


def _rounded_alike(parts: list[int], remainders: list[int], order: list[int], cut: int) -> bool:
    """Whether the keys whose exact remainder ties at the cut have shares of one magnitude: the same number
    of digits before the point (or all under 1, then the same fraction), so the 60-digit division rounds
    each at the same decimal place and their remainders stay equal (ties to the smaller key, as here)."""
    tie = remainders[order[cut]]
    low, high = cut, cut
    while low > 0 and remainders[order[low - 1]] == tie:
        low -= 1
    while high + 1 < len(order) and remainders[order[high + 1]] == tie:
        high += 1
    return len({len(str(parts[at])) if parts[at] else 0 for at in order[low:high + 1]}) == 1


def decimal_parts(total: Decimal, weights: dict[K, Decimal], step: Decimal) -> dict[K, int]:
    """``total`` split by ``weights`` in whole ``step``s: each key gets the floor of its exact share, the steps
    left over go one each to the largest remainders, ties to the smallest key. In 60-digit Decimal.

    A line's keys are (meter, day) and tie in tuple order, which is the order of their ``meter|YYYY-MM-DD``
    text, as they always have: no meter's name is the start of another's (tests/unit/billing/
    test_mtd_cells_reference)."""
    with localcontext() as ctx:
        ctx.prec = 60
        units = int(total / step)
        whole = sum(weights.values(), Decimal(0))
        parts: dict[K, int] = {}
        remainders: list[tuple[Decimal, K]] = []   # minus the remainder (the largest sorts first), then the key
        scale = Decimal(units)   # converted once, not per key (the product is the same)
        for key, weight in weights.items():
            exact = scale * weight / whole
            part = parts[key] = int(exact)   # exact >= 0: int() is the floor
            remainders.append((part - exact, key))
        left_over = units - sum(parts.values())
        if left_over:
            for _remainder, key in heapq.nsmallest(left_over, remainders):
                parts[key] += 1
    return parts


def decimal_split(total: Decimal, weights: dict[K, Decimal], step: Decimal) -> dict[K, Decimal]:
    """Largest remainder as chargeback.billing.pools.largest_remainder: the parts sum to ``total`` exactly."""
    return {key: units * step for key, units in decimal_parts(total, weights, step).items()}


def units_of(total: Decimal, step: Decimal) -> int:
    """How many ``step``s ``total`` is, as ``decimal_parts`` counts them."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int(total / step)
