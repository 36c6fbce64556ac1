"""Price a month: pay-as-you-go rates in effect per day, PTU pools shared by use, markup per department.

Rounding, once per figure and half up: each invoice line's exact amount; each pool period's cost (then
shared by largest remainder, so the shares sum to it); each department's markup on its subtotal.
Everything else is a sum of those, so every total reconciles exactly with the lines shown.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TypeVar

from chargeback.billing import meter_rates
from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolCharge, PoolLine, UnpricedUsage
from chargeback.billing.pools import PoolPeriod
from chargeback.config.model import UNALLOCATED, ChargebackConfig, Price, effective_periods
from chargeback.money import quantum, round_money, zero
from chargeback.months import month_bounds
from chargeback.usage.aggregation import LineUsage, MonthUsage
from chargeback.usage.meters import MeterQuantities

_SHARE = Decimal("0.000001")
_UNPRICED = -1   # _target: a day's deployment with neither a price nor a pool in effect
# department, subscription, deployment, price period, spilled from ("" for calls the deployment was called for)
_PaygKey = tuple[str, str, str, tuple[Price, date, date], str]
_K = TypeVar("_K")


def price_month(month: str, usage: MonthUsage, config: ChargebackConfig) -> MonthCharges:
    """Charge every department for ``month``'s usage as ``config`` prices it; pure, deterministic."""
    first_day, next_first_day = month_bounds(month)
    if usage.month != month:
        raise ValueError(f"usage is for {usage.month}, not {month}")
    with localcontext() as ctx:
        ctx.prec = 60   # token counts x rates stay exact; only the quantize steps round
        return _Pricing(month, first_day, next_first_day, config).run(usage)


class _Pricing:
    def __init__(self, month: str, first_day: date, next_first_day: date, config: ChargebackConfig):
        self.month, self.config, self.currency = month, config, config.currency
        self.step = quantum(config.currency)   # what round_money rounds to
        self.first_day, self.next_first_day = first_day, next_first_day
        self.days_in_month = (next_first_day - first_day).days
        self.price_periods: dict[str, list[tuple[Price, date, date]]] = {}
        self.pool_periods = {
            deployment: [PoolPeriod(pool, start, stop) for pool, start, stop
                         in effective_periods(config.pool_history(deployment), first_day, next_first_day)]
            for deployment in sorted({p.deployment for p in config.pools})}
        # (dept, sub, deployment, index of the price period, spilled from) -> the line's usage
        self.payg: dict[tuple[str, str, str, int, str], LineUsage] = {}
        self.claims: dict[str, str] = {}                                 # subscription -> department
        self.targets: dict[str, list[int | PoolPeriod | None]] = {}   # deployment -> day -> _target
        self.unpriced: dict[tuple[str, str, str], LineUsage] = {}        # (dept, sub, deployment)
        self.unmetered: dict[str, int] = defaultdict(int)                # deployment -> streams without usage
        self.unclaimed: set[str] = set()                                 # subscriptions no department claims
        self.unrated: list[UnpricedUsage] = []                          # priced lines' meters without a rate
        self.warnings: list[str] = []

    def run(self, usage: MonthUsage) -> MonthCharges:
        days = {day: self.first_day + timedelta(days=day - 1) for day in range(1, self.days_in_month + 1)}
        # As stored, not sorted: what a line, pool or warning is made of is summed exactly (integers, and audio
        # seconds in the 60-digit context) and every list below is sorted, so the order of groups decides nothing.
        groups, spilled = usage.stored_groups()
        self._route_groups(groups, days)
        for (subscription, deployment, model, day, spilled_from), counts in spilled.items():
            line = self._line_of(subscription, deployment, self._day_target(deployment, day, days), spilled_from)
            line.add_counts(subscription, model, days[day], counts)
            self._unmetered(deployment, counts)
        lines: dict[str, list[PaygLine | PoolLine]] = defaultdict(list)
        for (dept, _sub, _deployment, period, spilled_from), line_usage in sorted(self._payg_lines(), key=_payg_order):
            lines[dept].append(self._payg_line(dept, period, line_usage, spilled_from))
        pools = [self._pool_charge(period, lines) for periods in self.pool_periods.values() for period in periods]
        departments = self._departments(lines)
        self._explain(usage)
        return MonthCharges(
            month=self.month, currency=self.currency, minor_unit=self.config.minor_unit,
            markup_percent=self.config.markup_percent, config_fingerprint=self.config.fingerprint(),
            departments=tuple(departments), pools=tuple(pools), unpriced=tuple(self._unpriced()),
            warnings=tuple(self.warnings), grand_total=sum((d.total for d in departments), self._zero()))

    def _route_groups(self, groups: dict[tuple[str, str, str, int], list[int | Decimal]],
                      days: dict[int, date]) -> None:
        """Every group not spilled to its line (``_line_of``), in runs: the groups one after the other of one
        subscription, deployment and model that go to one line are added to it at once (``add_run``); stored
        in key order, as the month-to-date sum is, a run is that model's days of one price or pool period."""
        subscription = deployment = model = ""
        targets: list[int | PoolPeriod | None] = []
        target: int | PoolPeriod | None = None
        line, low, high = LineUsage(), 0, 0   # the run: its line, groups, first and last day
        parts: list[list[int | Decimal]] = []
        unmetered = self.unmetered
        for (sub, dep, mod, day), counts in groups.items():
            if dep != deployment:   # and a new run
                deployment, targets, target = dep, self._targets_of(dep), None
            now = targets[day]
            if now is None:
                now = targets[day] = self._target(dep, days[day])
            if now is not target or mod != model or sub != subscription:
                if parts:
                    line.add_run(subscription, model, days[low], days[high], parts)
                subscription, model, target = sub, mod, now
                line, parts, low, high = self._line_of(sub, dep, now), [], day, day
            parts.append(counts)
            if day < low:
                low = day
            elif day > high:
                high = day
            if counts[1]:
                unmetered[dep] += int(counts[1])
        if parts:
            line.add_run(subscription, model, days[low], days[high], parts)

    def _line_of(self, subscription: str, deployment: str, target: int | PoolPeriod,
                 spilled_from: str = "") -> LineUsage:
        """The line a group goes to on a day ``target`` (``_target``) prices its deployment.

        A spilled group's ``deployment`` is the one that served it (aggregation put it there), so a call a PTU
        spilled to a standard deployment is priced at that deployment's rates and never counts in the pool.
        """
        dept = self.claims.get(subscription)
        if dept is None:
            dept = self.claims[subscription] = self.config.department_for(subscription)
            if dept == UNALLOCATED:
                self.unclaimed.add(subscription)
        if target.__class__ is not int:
            return _line(target.use, dept)   # type: ignore[union-attr]  # a PoolPeriod
        if target == _UNPRICED:
            return _line(self.unpriced, (dept, subscription, deployment))
        key = (dept, subscription, deployment, target, spilled_from)   # target: the index of the price period
        return self.payg.get(key) or self.payg.setdefault(key, LineUsage())

    def _targets_of(self, deployment: str) -> list[int | PoolPeriod | None]:
        """The deployment's ``_target`` per day of the month (index: the day), None until asked."""
        found = self.targets.get(deployment)
        if found is None:
            found = self.targets[deployment] = [None] * 32
        return found

    def _day_target(self, deployment: str, day: int, days: dict[int, date]) -> int | PoolPeriod:
        targets = self._targets_of(deployment)
        found = targets[day]
        if found is None:
            found = targets[day] = self._target(deployment, days[day])
        return found

    def _unmetered(self, deployment: str, counts: list[int | Decimal]) -> None:
        if counts[1]:
            self.unmetered[deployment] += int(counts[1])

    def _target(self, deployment: str, day: date) -> int | PoolPeriod:
        """What prices ``deployment`` on ``day``: the index of its price period, its pool period, or _UNPRICED."""
        periods = self._price_periods(deployment)
        index = next((i for i, (_price, start, stop) in enumerate(periods) if start <= day < stop), None)
        if index is not None:
            return index
        pool = next((p for p in self.pool_periods.get(deployment, ()) if p.start <= day < p.stop), None)
        return _UNPRICED if pool is None else pool

    def _payg_lines(self) -> Iterator[tuple[_PaygKey, LineUsage]]:
        for (dept, sub, deployment, index, spilled_from), line_usage in self.payg.items():
            yield (dept, sub, deployment, self.price_periods[deployment][index], spilled_from), line_usage

    def _price_periods(self, deployment: str) -> list[tuple[Price, date, date]]:
        if deployment not in self.price_periods:
            history = self.config.price_history(deployment)
            self.price_periods[deployment] = effective_periods(history, self.first_day, self.next_first_day)
        return self.price_periods[deployment]

    def _payg_line(self, dept: str, period: tuple[Price, date, date], usage: LineUsage,
                   spilled_from: str) -> PaygLine:
        price, start, stop = period
        t = usage.totals
        rates = meter_rates.rates_in_effect(price, t.meters)
        exact = meter_rates.exact_amount(price, t.meters, rates)
        line = PaygLine(
            subscription=next(iter(usage.subscriptions)), deployment=price.deployment,
            models=tuple(sorted(usage.models)), period_start=start, period_end=stop - timedelta(days=1),
            unit=price.unit, input_rate=price.input, cached_input_rate=price.cached_input_rate,
            output_rate=price.output, requests=t.requests, unmetered=t.unmetered, prompt_tokens=t.prompt_tokens,
            cached_tokens=t.cached_tokens, completion_tokens=t.completion_tokens,
            reasoning_tokens=t.reasoning_tokens, exact_amount=exact, amount=exact.quantize(self.step, ROUND_HALF_UP),
            meters=t.meters, rates=rates, price_from=price.effective_from,
            spilled_from=spilled_from)
        missing = meter_rates.unrated(t.meters, rates)
        if missing is not None:
            names = ", ".join(meter_rates.label(m).lower() for m in missing.used())
            self.unrated.append(_unpriced(dept, line.subscription, line.deployment, usage, missing,
                                          f"the price from {price.effective_from} names no rate for {names}"))
        return line

    def _pool_charge(self, period: PoolPeriod, lines: dict[str, list[PaygLine | PoolLine]]) -> PoolCharge:
        """The period's cost, rounded once, shared out; appends each department's pool line."""
        cost = round_money(period.exact_cost(self.days_in_month), self.currency)
        weighted, amounts = period.shares(cost, self.currency)
        pool_weighted = sum(weighted.values(), Decimal(0))
        if not pool_weighted:
            self.warnings.append(f'pool "{period.pool.deployment}" had no weighted usage from {period.start} '
                                 f"to {period.last_day}: its cost {cost} {self.currency} goes to {UNALLOCATED}")
        for dept in sorted(amounts):
            use = period.use.get(dept, LineUsage())
            t, mine = use.totals, weighted.get(dept, Decimal(0))
            share = (mine / pool_weighted).quantize(_SHARE) if pool_weighted else Decimal(1).quantize(_SHARE)
            lines[dept].append(PoolLine(
                pool=period.pool.deployment, period_start=period.start, period_end=period.last_day,
                subscriptions=tuple(sorted(use.subscriptions)), models=tuple(sorted(use.models)),
                requests=t.requests, unmetered=t.unmetered, prompt_tokens=t.prompt_tokens,
                cached_tokens=t.cached_tokens, completion_tokens=t.completion_tokens,
                reasoning_tokens=t.reasoning_tokens, weighted_tokens=mine, pool_weighted_tokens=pool_weighted,
                share=share, pool_cost=cost, amount=amounts[dept], meters=t.meters,
                weights=period.pool.weights.as_dict()))
        return PoolCharge(
            deployment=period.pool.deployment, period_start=period.start, period_end=period.last_day,
            hours=period.hours, basis=period.basis(self.days_in_month), cost=cost,
            weights=period.pool.weights.as_dict(),
            weighted_tokens=pool_weighted, shares={d: amounts[d] for d in sorted(amounts)})

    def _departments(self, lines: dict[str, list[PaygLine | PoolLine]]) -> list[DepartmentCharges]:
        """Every configured department (even with nothing to pay), then ``unallocated`` if it has anything."""
        known = [(d.id, d.name, d.cost_center) for d in self.config.departments]
        if lines.get(UNALLOCATED) or any(key[0] == UNALLOCATED for key in self.unpriced):
            known.append((UNALLOCATED, "Unallocated", ""))
        out = []
        for dept, name, cost_center in known:
            mine = tuple(lines.get(dept, ()))
            subtotal = sum((line.amount for line in mine), self._zero())
            # Markup once on the subtotal, rounded once: total = displayed lines + displayed markup.
            markup = round_money(subtotal * self.config.markup_percent / 100, self.currency)
            out.append(DepartmentCharges(dept, name, cost_center, mine, subtotal, markup, subtotal + markup))
        return out

    def _unpriced(self) -> list[UnpricedUsage]:
        unpriced = [_unpriced(dept, sub, deployment, u, u.totals.meters, "no price or pool in effect")
                    for (dept, sub, deployment), u in sorted(self.unpriced.items())]
        return sorted(unpriced + self.unrated, key=lambda u: (u.department, u.subscription, u.deployment))

    def _explain(self, usage: MonthUsage) -> None:
        """Warnings a finance reader must see: nothing is free or dropped without a word."""
        by_deployment: dict[str, LineUsage] = defaultdict(LineUsage)
        for (_dept, _sub, deployment), u in self.unpriced.items():
            by_deployment[deployment].merge(u)
        for deployment, u in sorted(by_deployment.items()):
            tokens = u.totals.prompt_tokens + u.totals.completion_tokens
            self.warnings.append(
                f'deployment "{deployment or "(none)"}" has no price or pool in effect from {u.first_day} to '
                f"{u.last_day}: {tokens:,} tokens in {u.totals.requests:,} request(s) from "
                f"{len(u.subscriptions)} subscription(s) are listed as unpriced and not charged")
        for unrated in self.unrated:
            quantities = ", ".join(f"{q:,} {meter_rates.label(m).lower()}" for m, q in unrated.meters.used().items())
            self.warnings.append(f'deployment "{unrated.deployment}" ({unrated.subscription}): {quantities} listed '
                                 f"as unpriced and not charged: {unrated.reason}")
        for deployment, count in sorted(self.unmetered.items()):
            self.warnings.append(f'{count:,} streamed request(s) on "{deployment or "(none)"}" never reported '
                                 "their usage: counted as unmetered, not charged")
        if self.unclaimed:
            self.warnings.append(f"{len(self.unclaimed)} subscription(s) claimed by no department are billed to "
                                 f"{UNALLOCATED}: {', '.join(sorted(self.unclaimed))}")
        if usage.outside_month:
            self.warnings.append(f"{usage.outside_month:,} usage record(s) stamped outside {self.month} "
                                 "were not counted in it")

    def _zero(self) -> Decimal:
        return zero(self.currency)


def _unpriced(dept: str, sub: str, deployment: str, u: LineUsage, meters: MeterQuantities,
              reason: str) -> UnpricedUsage:
    """Usage not charged; requests are counted here only when no line of the invoice counts them."""
    whole = meters is u.totals.meters
    if u.first_day is None or u.last_day is None:
        raise ValueError("usage without a day")   # a line is built from at least one day's group
    return UnpricedUsage(
        department=dept, subscription=sub, deployment=deployment, models=tuple(sorted(u.models)),
        first_day=u.first_day, last_day=u.last_day, requests=u.totals.requests if whole else 0,
        unmetered=u.totals.unmetered if whole else 0, prompt_tokens=meters.prompt_tokens,
        cached_tokens=meters.cached_tokens, completion_tokens=meters.completion_tokens,
        reasoning_tokens=meters.reasoning, meters=meters, reason=reason)


def _payg_order(item: tuple[_PaygKey, LineUsage]) -> tuple[str, str, str, date, str]:
    (dept, sub, deployment, (_price, start, _stop), spilled_from), _usage = item
    return dept, sub, deployment, start, spilled_from


def _line(lines: dict[_K, LineUsage], key: _K) -> LineUsage:
    found = lines.get(key)
    if found is None:
        found = lines[key] = LineUsage()
    return found
