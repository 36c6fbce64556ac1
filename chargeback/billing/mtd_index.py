"""The month's groups read once for the month-to-date cells (chargeback/billing/mtd_cells), and each line's
weights from them: as integers where they are whole (token meters: a common factor times the Decimal sums),
else as the Decimal sums group by group that define them (audio seconds at a rate, a product too long)."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable
from datetime import date, timedelta
from decimal import Decimal, getcontext
from itertools import compress, groupby, islice, repeat
from operator import add, itemgetter, lt
from typing import Any, TypeVar

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
# The days of a (subscription or department, deployment) that have groups, ascending (days of the month and
# dates), and per column of the counts (requests, unmetered, FIELDS) its figure on each, summed over its groups.
Columns = tuple[list[int], list[date], list[tuple[int | Decimal, ...]]]
Scaled = list[tuple[str, int, int, int]]   # meter, at, multiplier, coefficient (``scaled``)
Segment = tuple[str, list[date], list[int]]   # a meter, its days (ascending) and their integer weights
_K = TypeVar("_K", bound=Hashable)
_D = TypeVar("_D", bound=Hashable)


class MonthIndex:
    """The quantity per department and cell (audio seconds added group by group in ``MonthUsage.groups()``'s
    order, as the first scan of the month's meter rows did; integers in any order), the day columns of each
    (subscription, deployment) and of each (department, pool deployment), and the groups of each, in that
    order, for the lines whose weights are summed as Decimals (``payg_by_groups``, ``pool_by_groups``)."""

    def __init__(self, usage: MonthUsage, config: ChargebackConfig, pools: frozenset[str]):
        self.days = days = {day: usage.first_day + timedelta(days=day - 1) for day in range(1, 32)}
        self.prec = getcontext().prec   # the context the Decimal weights are summed in
        self.sixty = getcontext().copy()   # what mtd_split.decimal_parts counts a line's steps in
        self.sixty.prec = 60
        self._rates: dict[tuple[tuple[str, Decimal], ...], Scaled | None] = {}
        self._weights: dict[tuple[tuple[str, Decimal], ...], Scaled | None] = {}
        self.quantity: dict[str, dict[Cell, int | Decimal]] = {}   # department -> cell -> quantity
        self._stored = usage.stored_groups()
        claims: dict[str, str] = {}
        pairs: dict[tuple[str, str], _Gathered] = {}   # (subscription, deployment)
        by_pool: dict[tuple[str, str], _Gathered] = {}   # (department, pool deployment)
        groups, spilled = self._stored
        audio: tuple[list[_Stored], list[_Stored]] = ([], [])   # each table's groups with audio seconds
        self._scan(groups, config, pools, claims, pairs, by_pool, audio[0])
        self._scan(spilled, config, pools, claims, pairs, by_pool, audio[1])
        tables: tuple[dict[Any, list[int | Decimal]], ...] = (groups, spilled)
        for table, keys in zip(tables, audio, strict=True):   # Decimal: added in groups()'s order,
            for key in sorted(keys):   # the groups in key order, then the spilled groups in key order
                quantity, cell = self.quantity[claims[key[0]]], (key[1], AUDIO, days[key[3]])
                quantity[cell] = quantity.get(cell, 0) + Decimal(table[key][AUDIO_AT])
        self._keys = {pair: keys for pair, (_days, _rows, keys) in pairs.items()}   # (subscription, deployment)
        self._pool_keys = {key: keys for key, (_days, _rows, keys) in by_pool.items()}   # (department, pool)
        self.columns = {pair: _columns(found, days) for pair, found in pairs.items()}
        self.pool_columns = {key: _columns(found, days) for key, found in by_pool.items()}
        seen: set[tuple[str, str]] = set()   # (department, deployment) with cells already
        for (subscription, deployment), (_days, dated, figures) in self.columns.items():
            dept = claims[subscription]
            quantity, first = self.quantity[dept], (dept, deployment) not in seen
            seen.add((dept, deployment))
            for meter, at in _TOKENS:
                column = figures[at]
                if any(column):   # the cells (deployment, meter, day) made in C; integers: summed in any order
                    cells = zip(repeat(deployment), repeat(meter), compress(dated, column))
                    amounts: Iterable[int] = compress(column, column)   # type: ignore[arg-type]  # not audio
                    if first:
                        quantity.update(zip(cells, amounts))   # strict: both from one column  # noqa: B905
                    else:
                        _add_cells(quantity, cells, amounts)

    def _scan(self, table: dict[Any, list[int | Decimal]], config: ChargebackConfig, pools: frozenset[str],
              claims: dict[str, str], pairs: dict[tuple[str, str], _Gathered],
              by_pool: dict[tuple[str, str], _Gathered], audio: list[_Stored]) -> None:
        """Gather the groups of ``table`` (one of ``MonthUsage.stored_groups``, keyed by a ``_Stored``) as stored,
        in runs of one (subscription, deployment) (in key order, as the merged sum is, its groups follow each
        other): each run's days, counts and keys added at once, in C; the days summed in ``_columns``. Every sum
        made here is of integers, or of audio seconds only asked whether it is 0; the keys of the groups with
        audio seconds go to ``audio``, to be added in order."""
        keys, rows = list(table), list(table.values())
        day_of, at = list(map(_DAY, keys)), 0
        for (subscription, deployment), run in groupby(map(_PAIR, keys)):
            stop = at + len(list(run))
            dept = claims.get(subscription)
            if dept is None:
                dept = claims[subscription] = config.department_for(subscription)
                self.quantity[dept] = self.quantity.get(dept, {})
            run_days, run_rows, run_keys = day_of[at:stop], rows[at:stop], keys[at:stop]
            _extend(pairs, (subscription, deployment), run_days, run_rows, run_keys)
            if deployment in pools:
                _extend(by_pool, (dept, deployment), run_days[:], run_rows[:], run_keys[:])   # not the pair's
            audio += compress(run_keys, map(_AUDIO, run_rows))
            at = stop

    def groups(self, pair: tuple[str, str]) -> list[GroupRow]:
        """The groups of a (subscription, deployment), in ``MonthUsage.group_rows``'s order."""
        return [self._row(key) for key in sorted(self._keys.get(pair, ()), key=_in_order)]

    def pool_groups(self, key: tuple[str, str]) -> list[GroupRow]:
        """The groups of a (department, pool deployment), in ``MonthUsage.group_rows``'s order."""
        return [self._row(found) for found in sorted(self._pool_keys.get(key, ()), key=_in_order)]

    def _row(self, key: _Stored) -> GroupRow:
        groups, spilled = self._stored
        if len(key) == 4:
            return key[0], key[1], key[2], key[3], "", groups[key]
        return key[0], key[1], key[2], key[3], key[4], spilled[key]

    def rates(self, rates: dict[str, Decimal]) -> Scaled | None:
        """A pay-as-you-go line's rates ``scaled``, in meter order (one line's price is many lines')."""
        key = tuple(sorted(rates.items()))
        if key not in self._rates:
            self._rates[key] = scaled(list(key))
        return self._rates[key]

    def weights(self, weights: dict[str, Decimal]) -> Scaled | None:
        """A pool line's weights ``scaled``, every meter in meter order (0 where the pool names none)."""
        key = tuple(sorted(weights.items()))
        if key not in self._weights:
            self._weights[key] = scaled([(meter, weights.get(meter, _NOTHING)) for meter, _at in BY_NAME])
        return self._weights[key]


# A (subscription or department, deployment)'s groups as stored: their days, their counts (the aggregate's own
# lists: read, never changed) and their keys.
_Stored = tuple[str, str, str, int] | tuple[str, str, str, int, str]   # MonthUsage.stored_groups' keys
_Gathered = tuple[list[int], list[list[int | Decimal]], list[_Stored]]
_PAIR, _DAY, _AUDIO = itemgetter(0, 1), itemgetter(3), itemgetter(AUDIO_AT)


def _in_order(key: _Stored) -> tuple[int, _Stored]:
    """``MonthUsage.group_rows``' order: the groups in key order, then the spilled groups in key order."""
    return len(key), key


def _extend(gathered: dict[tuple[str, str], _Gathered], key: tuple[str, str], days: list[int],
            rows: list[list[int | Decimal]], keys: list[_Stored]) -> None:
    found = gathered.get(key)
    if found is None:
        gathered[key] = (days, rows, keys)   # the run's own slices
        return
    found[0].extend(days)
    found[1].extend(rows)
    found[2].extend(keys)


def add_days(steps: dict[_K, dict[_D, int]], key: _K, days: Iterable[_D], amounts: Iterable[int]) -> None:
    """Add ``amounts`` to ``steps[key]`` day by day."""
    found = steps.get(key)
    if found is None:
        steps[key] = dict(zip(days, amounts))   # strict: both from one column  # noqa: B905
        return
    for day, amount in zip(days, amounts):   # noqa: B905
        found[day] = found.get(day, 0) + amount


def _add_cells(quantity: dict[Cell, int | Decimal], cells: Iterable[Cell], amounts: Iterable[int]) -> None:
    for cell, amount in zip(cells, amounts):   # noqa: B905
        quantity[cell] = quantity.get(cell, 0) + amount


def _columns(gathered: _Gathered, dates: dict[int, date]) -> Columns:
    """The days with groups, ascending, and the counts summed per day, column by column."""
    days, rows, _keys = gathered
    if not all(map(lt, days, islice(days, 1, None))):   # not one group a day in order: each day's summed
        by_day: dict[int, list[int | Decimal]] = {}
        for day, counts in zip(days, rows, strict=True):
            before = by_day.setdefault(day, counts)
            if before is not counts:
                by_day[day] = list(map(add, before, counts))
        days = sorted(by_day)
        rows = list(map(by_day.__getitem__, days))
    return days, list(map(dates.__getitem__, days)), list(zip(*rows, strict=True))


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


def int_weights(rates: Scaled, columns: Columns | None, first: int, last: int, prec: int) -> list[Segment] | None:
    """The (meter, day) keys of days ``first``..``last`` with their weights as integers, per meter in the order
    of ``rates`` and by day: one common factor (``10**R / unit``) times what the Decimal sums
    (``payg_by_groups``, ``pool_by_groups``) make, since those are exact: quantity x rate within ``prec``
    digits. None where they might not be, or are not made of integers (audio seconds at a rate or weight other
    than 0): the weights then are those sums themselves."""
    segments: list[Segment] = []
    if columns is None:
        return segments
    days, dated, figures = columns
    low, high = bisect_left(days, first), bisect_right(days, last)
    whole = not low and high == len(days)   # the line's period has every day with groups: no slices
    span, limit = dated if whole else dated[low:high], 10 ** prec
    for meter, at, multiplier, coefficient in rates:
        column = figures[at] if whole else figures[at][low:high]
        if not any(column):
            continue
        used = list(compress(span, column))
        if at == AUDIO_AT:   # Decimal seconds: weigh 0 (a key each all the same), else the Decimal sums
            if multiplier:
                return None
            segments.append((meter, used, [0] * len(used)))
            continue
        quantities: list[int] = list(compress(column, column))   # type: ignore[arg-type]  # not audio: ints
        if max(quantities) * coefficient >= limit:
            return None
        segments.append((meter, used, [quantity * multiplier for quantity in quantities]))
    return segments


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
