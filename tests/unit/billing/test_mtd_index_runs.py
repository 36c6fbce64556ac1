"""MonthIndex gathers the stored groups in runs of one (subscription, deployment) (billing/mtd_index._scan) and
sums a day's groups only where the days are not one a day in order (_columns). Whatever the stored order
(key order, key order with some groups moved to the end as the refresh patches them, shuffled), with several
models a day, spilled groups, several subscriptions of a department on one deployment and a pool: its columns,
pool columns, quantities and groups are what summing the groups one by one gives."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from chargeback.billing.mtd_index import AT, AUDIO, MonthIndex
from chargeback.usage.aggregation import MonthUsage

MONTH, FIRST = "2026-10", date(2026, 10, 1)
CLAIMS = {"sub-a1": "a", "sub-a2": "a", "sub-b1": "b"}   # sub-x: claimed by no department
POOLS = frozenset({"ptu"})
WIDTH = 2 + len(AT)


class _Claims:
    def department_for(self, subscription: str) -> str:
        return CLAIMS.get(subscription, "unallocated")


def _counts(rng: random.Random) -> list[int | Decimal]:
    counts: list[int | Decimal] = [rng.choice([0, 0, rng.randrange(1, 10 ** rng.randrange(1, 9))])
                                   for _ in range(WIDTH)]
    counts[0] = rng.randrange(1, 9)
    counts[AT[AUDIO]] = rng.choice([Decimal(0), Decimal(0), Decimal(rng.randrange(1, 10 ** 6)) / 1000])
    return counts


def _usage(seed: int, order: str) -> MonthUsage:
    rng = random.Random(seed)
    subs, deployments, models = [*CLAIMS, "sub-x"], ["gpt-4o", "ptu", "mini"], ["m1", "m2"]
    groups: dict[tuple[str, str, str, int], list[int | Decimal]] = {}
    spilled: dict[tuple[str, str, str, int, str], list[int | Decimal]] = {}
    for _ in range(rng.randrange(40, 160)):
        sub, dep, model, day = rng.choice(subs), rng.choice(deployments), rng.choice(models), rng.randrange(1, 32)
        if rng.random() < 0.15:
            spilled[(sub, dep, model, day, "ptu")] = _counts(rng)
        else:
            groups[(sub, dep, model, day)] = _counts(rng)
    usage = MonthUsage(MONTH)
    stored = []
    for table in (groups, spilled):
        items = sorted(table.items())
        if order == "shuffled":
            rng.shuffle(items)
        elif order == "patched":   # a few groups moved to the end, as a refresh adds or replaces them
            moved = rng.sample(range(len(items)), min(len(items), 5))
            items = [x for i, x in enumerate(items) if i not in moved] + [items[i] for i in moved]
        stored.append(dict(items))
    usage._groups, usage._spilled = stored[0], stored[1]   # type: ignore[assignment]
    return usage


def _summed(rows: list[list[int | Decimal]]) -> list[int | Decimal]:
    out = list(rows[0])
    for row in rows[1:]:
        out = [a + b for a, b in zip(out, row, strict=True)]
    return out


def _reference_columns(rows_by_key: dict[tuple[str, str], list[tuple[int, list[int | Decimal]]]]) -> dict:
    out = {}
    for key, rows in rows_by_key.items():
        days = sorted({day for day, _counts in rows})
        sums = [_summed([counts for d, counts in rows if d == day]) for day in days]
        out[key] = (days, [FIRST + timedelta(days=day - 1) for day in days],
                    [tuple(s[c] for s in sums) for c in range(WIDTH)])
    return out


@pytest.mark.parametrize("order", ["key", "patched", "shuffled"])
@pytest.mark.parametrize("seed", range(12))
def test_the_index_is_the_groups_summed_one_by_one(seed: int, order: str):
    usage = _usage(seed, order)
    index = MonthIndex(usage, _Claims(), POOLS)   # type: ignore[arg-type]  # only department_for is asked
    rows = list(usage.group_rows())   # groups in key order, then the spilled groups in key order
    by_pair: dict[tuple[str, str], list[tuple[int, list[int | Decimal]]]] = {}
    by_pool: dict[tuple[str, str], list[tuple[int, list[int | Decimal]]]] = {}
    quantity: dict[str, dict[tuple[str, str, date], int | Decimal]] = {}
    for sub, dep, _model, day, _spilled, counts in rows:
        dept = _Claims().department_for(sub)
        by_pair.setdefault((sub, dep), []).append((day, counts))
        if dep in POOLS:
            by_pool.setdefault((dept, dep), []).append((day, counts))
        mine = quantity.setdefault(dept, {})
        for meter, at in AT.items():
            if counts[at]:
                cell = (dep, meter, FIRST + timedelta(days=day - 1))
                mine[cell] = mine.get(cell, 0) + counts[at]
    assert index.columns == _reference_columns(by_pair)
    assert index.pool_columns == _reference_columns(by_pool)
    assert index.quantity == quantity
    for pair in by_pair:
        assert index.groups(pair) == [row for row in rows if (row[0], row[1]) == pair]
    for dept, pool in by_pool:
        assert index.pool_groups((dept, pool)) == [
            row for row in rows if row[1] == pool and _Claims().department_for(row[0]) == dept]
    assert all(isinstance(q, Decimal) for cells in index.quantity.values()
               for (_dep, meter, _day), q in cells.items() if meter == AUDIO)
