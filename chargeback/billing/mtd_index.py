"""The month's groups read once for the month-to-date cells (chargeback/billing/mtd_cells), and each line's
weights from them: as integers where they are whole (token meters: a common factor times the Decimal sums),
else as the Decimal sums group by group that define them (audio seconds at a rate, a product too long)."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from decimal import Decimal, getcontext
from operator import add

from chargeback.billing.charges import PaygLine, PoolLine
from chargeback.billing.meter_rates import SECONDS_PER_HOUR
from chargeback.config.model import UNITS, ChargebackConfig
from chargeback.usage.aggregation import GroupRow, MonthUsage
from chargeback.usage.meters import METERS

Cell = tuple[str, str, date]   # deployment, meter, day
Key = tuple[str, date]         # meter, day: a line's part
AT = {meter: at for at, meter in enumerate(METERS, 2)}   # a group's counts: requests, unmetered, then FIELDS
AUDIO = "audio_seconds"
AUDIO_AT = AT[AUDIO]
BY_NAME = sorted(AT.items())   # (meter, at) in name order: a line's (meter, day) keys in the order they tie in
_TOKENS = [(meter, at) for meter, at in BY_NAME if meter != AUDIO]
_NOTHING = Decimal(0)
# The days of a (subscription or department, deployment) that have groups, ascending, and per column of the
# counts (requests, unmetered, FIELDS) that column's figure on each of those days, summed over its groups.
Columns = tuple[list[int], list[tuple[int | Decimal, ...]]]
Scaled = list[tuple[str, int, int, int]]   # meter, at, multiplier, coefficient (``scaled``)


class MonthIndex:
    """The quantity per department and cell (audio seconds added group by group in ``MonthUsage.groups()``'s
    order, as the first scan of the month's meter rows did; integers in any order), the day columns of each
    (subscription, deployment) and of each (department, pool deployment), and the groups of each, in that
    order, for the lines whose weights are summed as Decimals (``payg_by_groups``, ``pool_by_groups``)."""

    def __init__(self, usage: MonthUsage, config: ChargebackConfig, pools: frozenset[str]):
        self.days = days = {day: usage.first_day + timedelta(days=day - 1) for day in range(1, 32)}
        self.prec = getcontext().prec   # the context the Decimal weights are summed in
        self.quantity: dict[str, dict[Cell, int | Decimal]] = {}   # department -> cell -> quantity
        self.groups: dict[tuple[str, str], list[GroupRow]] = {}    # (subscription, deployment) -> its groups
        self.pools: dict[tuple[str, str], list[GroupRow]] = {}     # (department, pool deployment) -> its groups
        self.columns: dict[tuple[str, str], Columns] = {}          # (subscription, deployment)
        self.pool_columns: dict[tuple[str, str], Columns] = {}     # (department, pool deployment)
        claims: dict[str, str] = {}
        by_pair: dict[tuple[str, str], dict[int, list[int | Decimal]]] = {}
        by_pool: dict[tuple[str, str], dict[int, list[int | Decimal]]] = {}
        for group in usage.group_rows():
            subscription, deployment, _model, day, _spilled, counts = group
            dept = claims.get(subscription)
            if dept is None:
                dept = claims[subscription] = config.department_for(subscription)
                self.quantity[dept] = self.quantity.get(dept, {})
            pair = (subscription, deployment)
            _list(self.groups, pair).append(group)
            _add_day(by_pair, pair, day, counts)
            if deployment in pools:
                _list(self.pools, (dept, deployment)).append(group)
                _add_day(by_pool, (dept, deployment), day, counts)
            if counts[AUDIO_AT]:
                quantity, cell = self.quantity[dept], (deployment, AUDIO, days[day])
                quantity[cell] = quantity.get(cell, 0) + Decimal(counts[AUDIO_AT])
        for (subscription, deployment), by_day in by_pair.items():
            found = self.columns[(subscription, deployment)] = _columns(by_day)
            self._quantities(self.quantity[claims[subscription]], deployment, found)
        self.pool_columns = {key: _columns(by_day) for key, by_day in by_pool.items()}

    def _quantities(self, quantity: dict[Cell, int | Decimal], deployment: str, columns: Columns) -> None:
        """Add one (subscription, deployment)'s token quantities to its department's cells (integers)."""
        days, figures = columns
        for meter, at in _TOKENS:
            column = figures[at]
            if any(column):
                for day, amount in zip(days, column, strict=True):
                    if amount:
                        cell = (deployment, meter, self.days[day])
                        quantity[cell] = quantity.get(cell, 0) + amount


def _list(lists: dict[tuple[str, str], list[GroupRow]], key: tuple[str, str]) -> list[GroupRow]:
    found = lists.get(key)
    if found is None:
        found = lists[key] = []
    return found


def _add_day(by: dict[tuple[str, str], dict[int, list[int | Decimal]]], key: tuple[str, str], day: int,
             counts: list[int | Decimal]) -> None:
    """The day's counts summed (the aggregate's own list while one group has the day: read, never changed)."""
    by_day = by.get(key)
    if by_day is None:
        by_day = by[key] = {}
    summed = by_day.get(day)
    by_day[day] = counts if summed is None else list(map(add, summed, counts))


def _columns(by_day: dict[int, list[int | Decimal]]) -> Columns:
    days = sorted(by_day)
    return days, list(zip(*(by_day[day] for day in days), strict=True))


def scaled(rated: list[tuple[str, Decimal]]) -> Scaled | None:
    """(meter, at, multiplier, coefficient) per (meter, rate or weight) in the order given: ``rate x 10**R`` as
    an integer (R: the most decimals of any of them) and the rate's own coefficient; None for one not >= 0."""
    shifts = []
    for _meter, rate in rated:
        if not rate.is_finite() or rate < 0:
            return None
        _sign, digits, exponent = rate.as_tuple()
        shifts.append((int("".join(map(str, digits))), int(exponent)))
    shift = max((-exponent for _coefficient, exponent in shifts), default=0)
    return [(meter, AT[meter], coefficient * 10 ** (exponent + shift), coefficient)
            for (meter, _rate), (coefficient, exponent) in zip(rated, shifts, strict=True)]


def int_weights(rates: Scaled, columns: Columns | None, first: int, last: int, dates: dict[int, date],
                prec: int) -> tuple[list[Key], list[int]] | None:
    """The (meter, day) keys of days ``first``..``last`` in order, with their weights as integers: one common
    factor (``10**R / unit``) times what the Decimal sums (``payg_by_groups``, ``pool_by_groups``) make, since
    those are exact: quantity x rate within ``prec`` digits. None where they might not be, or are not made of
    integers (audio seconds at a rate or weight other than 0): the weights then are those sums themselves."""
    keys: list[Key] = []
    weights: list[int] = []
    if columns is None:
        return keys, weights
    days, figures = columns
    low, high = bisect_left(days, first), bisect_right(days, last)
    limit = 10 ** prec
    for meter, at, multiplier, coefficient in rates:
        column = figures[at][low:high]
        if not any(column):
            continue
        if at == AUDIO_AT:   # Decimal seconds: weigh 0 (a key each all the same), else the Decimal sums
            if multiplier:
                return None
            used = [dates[day] for day, quantity in zip(days[low:high], column, strict=True) if quantity]
            keys.extend((meter, day) for day in used)
            weights.extend(0 for _day in used)
            continue
        for day, quantity in zip(days[low:high], column, strict=True):
            if quantity:
                if quantity * coefficient >= limit:   # not audio: an int
                    return None
                keys.append((meter, dates[day]))
                weights.append(quantity * multiplier)   # type: ignore[arg-type]  # not audio: an int
    return keys, weights


def payg_by_groups(line: PaygLine, groups: list[GroupRow], dates: dict[int, date]) -> dict[Key, Decimal]:
    """The line's weights as Decimals: each (meter, day)'s exact list cost (billing.meter_rates.meter_cost)
    summed over the line's groups, in their order, in the caller's context."""
    weights: dict[Key, Decimal] = {}
    first, last, per = line.period_start.day, line.period_end.day, UNITS[line.unit or "1M"]
    rated = [(meter, AT[meter], rate, SECONDS_PER_HOUR if meter == AUDIO else per)
             for meter, rate in line.rates.items()]
    for _sub, _deployment, _model, day, _spilled, counts in groups:
        if first <= day <= last:
            for meter, at, rate, unit in rated:
                quantity = counts[at]
                if quantity:
                    key = (meter, dates[day])
                    amount = Decimal(quantity) if at == AUDIO_AT else quantity
                    weights[key] = weights.get(key, _NOTHING) + amount * rate / unit
    return weights


def pool_by_groups(line: PoolLine, groups: list[GroupRow], dates: dict[int, date]) -> dict[Key, Decimal]:
    """The pool line's weights as Decimals: each (meter, day)'s weighted tokens (every meter used, weight 0
    where the pool names none), summed over the groups in their order."""
    weights: dict[Key, Decimal] = {}
    first, last = line.period_start.day, line.period_end.day
    weighed = [(meter, at, line.weights.get(meter, _NOTHING)) for meter, at in AT.items()]
    for _sub, _deployment, _model, day, _spilled, counts in groups:
        if first <= day <= last:
            for meter, at, weight in weighed:
                quantity = counts[at]
                if quantity:
                    key = (meter, dates[day])
                    weights[key] = weights.get(key, _NOTHING) + weight * (Decimal(quantity) if at == AUDIO_AT
                                                                          else quantity)
    return weights
