"""What the month will cost: a weekday-aware run rate of the month so far.

Exactly how: the days before ``as_of`` are complete. Pay-as-you-go cost per weekday (Monday to Friday)
is the mean over the complete weekdays so far, per weekend day the mean over the complete Saturdays and
Sundays so far (a kind with no complete day yet borrows the other kind's mean; with no complete day at
all, ``as_of``'s own cost so far is the rate). The forecast is the cost so far (``as_of`` included), plus
``max(0, rate of as_of's kind - as_of's cost so far)`` for the rest of today, plus each remaining day of
the month at its kind's rate. Pools are a fixed cost: their whole share is added, not extrapolated.
Markup applies to the forecast subtotal as to an invoice's (rounded once). A month that is over forecasts
its cost so far.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from chargeback.money import round_money
from chargeback.months import month_bounds


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def run_rates(daily_cost: dict[date, Decimal], first_day: date, as_of: date) -> tuple[Decimal, Decimal]:
    """Mean cost per complete weekday and per complete weekend day before ``as_of``."""
    kinds: dict[bool, list[Decimal]] = {False: [], True: []}
    day = first_day
    while day < as_of:
        kinds[is_weekend(day)].append(daily_cost.get(day, Decimal(0)))
        day += timedelta(days=1)
    means = {kind: sum(costs, Decimal(0)) / len(costs) for kind, costs in kinds.items() if costs}
    if not means:
        today = daily_cost.get(as_of, Decimal(0))
        return today, today
    weekday = means.get(False, means.get(True, Decimal(0)))
    weekend = means.get(True, weekday)
    return weekday, weekend


def forecast_payg(daily_cost: dict[date, Decimal], month: str, as_of: date) -> Decimal:
    """The month's pay-as-you-go cost by the run rates (exact, not rounded)."""
    first_day, next_first_day = month_bounds(month)
    if as_of >= next_first_day:   # the month is over: nothing left to forecast
        return sum(daily_cost.values(), Decimal(0))
    as_of = max(as_of, first_day)
    weekday, weekend = run_rates(daily_cost, first_day, as_of)
    so_far = sum((cost for day, cost in daily_cost.items() if day <= as_of), Decimal(0))
    today_rate = weekend if is_weekend(as_of) else weekday
    rest = max(Decimal(0), today_rate - daily_cost.get(as_of, Decimal(0)))
    day = as_of + timedelta(days=1)
    while day < next_first_day:
        rest += weekend if is_weekend(day) else weekday
        day += timedelta(days=1)
    return so_far + rest


def forecast_total(daily_payg: dict[date, Decimal], month: str, as_of: date, pool_share: Decimal,
                   markup_percent: Decimal, currency: str) -> Decimal:
    """The department's month total by the forecast: run-rate PAYG plus whole pool shares, then markup."""
    subtotal = round_money(forecast_payg(daily_payg, month, as_of), currency) + pool_share
    return subtotal + round_money(subtotal * markup_percent / 100, currency)
