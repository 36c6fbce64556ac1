"""The weekday-aware forecast over simulated days: usage ingested through the real trigger day by day,
weekends lighter than weekdays, month to date refreshed as its activities do at two moments of October 2026;
each forecast is checked against the figure worked by hand below (chargeback/billing/forecast.py's rule)."""
from __future__ import annotations

from chargeback.config.loading import parse_config
from chargeback.workflow.month_to_date import changed_partitions, price_to_date_step, refresh_partition_step
from devhost.ingest_runner import ingest_lines

from .conftest import event

# gpt-4o at 2.50 per 1M input tokens; markup 10%.
CONFIG = """
currency: USD
markup_percent: 10
departments:
  - {id: sales, name: Sales, owners: [bob@example.com], subscriptions: [sub-sales]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
"""
# October 2026 starts on a Thursday: weekends are 3-4, 10-11, 17-18, 24-25 and 31.
WEEKEND = {3, 4, 10, 11, 17, 18, 24, 25, 31}
WEEKDAY_TOKENS, WEEKEND_TOKENS = 1_000_000, 200_000   # 2.50 a weekday, 0.50 a weekend day


def day_of_usage(day: int, tokens: int | None = None) -> str:
    tokens = tokens if tokens is not None else WEEKEND_TOKENS if day in WEEKEND else WEEKDAY_TOKENS
    return event(f"sales-{day}", "sub-sales", "gpt-4o", tokens, 0, day=day)   # at 12:00 UTC


def refresh(ctx, as_of: str) -> dict:
    for part in changed_partitions(ctx, "2026-10"):
        refresh_partition_step(ctx, "2026-10", part["partition"], part["watermark"])
    document = price_to_date_step(ctx, "2026-10", as_of)
    return next(d for d in document["departments"] if d["department"] == "sales")


def test_forecast_runs_weekdays_and_weekends_at_their_own_rates(app_services):
    from chargeback.wiring import reset_services, services
    app_services.config.save(parse_config(CONFIG))
    reset_services()
    ctx = services().month_to_date

    # Days 1-11 arrive; refreshed on Monday the 12th at 06:00, nothing used yet that day.
    assert ingest_lines([day_of_usage(day) for day in range(1, 12)]).stored == 11
    sales = refresh(ctx, "2026-10-12T06:00:00+00:00")
    # So far: weekdays 1, 2, 5-9 (7 x 2.50 = 17.50), weekend days 3, 4, 10, 11 (4 x 0.50 = 2.00): 19.50.
    assert (sales["subtotal"], sales["total"]) == ("19.50", "21.45")   # markup 1.95
    # Rates: 2.50 a weekday, 0.50 a weekend day. Rest of Monday the 12th: 2.50. Days 13-31: weekdays
    # 13-16, 19-23, 26-30 (14 x 2.50 = 35.00), weekend days 17, 18, 24, 25, 31 (5 x 0.50 = 2.50).
    # 19.50 + 2.50 + 35.00 + 2.50 = 59.50; markup 5.95: 65.45. (A flat run rate, 19.50 / 11 x 31 = 54.95,
    # would be 60.45 with markup.)
    assert sales["forecast"] == "65.45"

    # Days 12-16 arrive, Wednesday the 14th twice as busy (5.00), and 80,000 tokens (0.20) by noon on
    # Saturday the 17th; refreshed that Saturday at 13:00.
    late = [day_of_usage(day, 2_000_000 if day == 14 else None) for day in range(12, 17)]
    assert ingest_lines([*late, day_of_usage(17, 80_000)]).stored == 6
    sales = refresh(ctx, "2026-10-17T13:00:00+00:00")
    # So far: 11 weekdays x 2.50 + 5.00 = 32.50, 4 weekend days x 0.50 = 2.00, today 0.20: 34.70.
    assert (sales["subtotal"], sales["total"]) == ("34.70", "38.17")   # markup 3.47
    # Weekday rate 32.50 / 12 = 2.708333...; weekend rate 2.00 / 4 = 0.50. Rest of today: 0.50 - 0.20 = 0.30.
    # Days 18-31: weekdays 19-23, 26-30 (10 x 2.708333... = 27.083333...), weekend days 18, 24, 25, 31
    # (4 x 0.50 = 2.00). 34.70 + 0.30 + 27.083333... + 2.00 = 64.083333... -> 64.08; markup 6.408 -> 6.41.
    assert sales["forecast"] == "70.49"
