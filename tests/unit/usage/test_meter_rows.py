"""meter_rows: the same (subscription, deployment, day, meter, quantity) rows, in the same order, as a
month's groups() and each group's meters.used(), spilled calls and exact audio seconds included."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meter_rows import meter_rows
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord


def rec(n: int, day: int, deployment: str, served: str = "", **meters) -> UsageRecord:
    return UsageRecord(f"r{n}", datetime(2026, 2, day, 9, tzinfo=UTC), f"sub-{n % 2}", deployment,
                       meters=MeterQuantities(**meters), model="m", served_deployment=served)


def test_rows_follow_groups_and_used_meters():
    records = [rec(1, 28, "gpt-4o", input=10, output=3), rec(2, 1, "gpt-4o", input=5),
               rec(3, 1, "tts", audio_seconds=Decimal("1.25"), characters=40),
               rec(4, 14, "ptu", served="paygo", input=7, cached_input=2),
               rec(5, 14, "gpt-4o")]   # no usage: no row
    usage = aggregate_month("2026-02", records)
    expected = [(k.subscription, k.deployment, k.day, m, q)
                for k, t in usage.groups() for m, q in t.meters.used().items()]
    assert list(meter_rows(usage)) == expected
    # Written out, for the reader (sub-0: even ids; the spilled call is keyed by the deployment that served it):
    assert expected == [
        ("sub-0", "gpt-4o", date(2026, 2, 1), "input", 5),
        ("sub-1", "gpt-4o", date(2026, 2, 28), "input", 10), ("sub-1", "gpt-4o", date(2026, 2, 28), "output", 3),
        ("sub-1", "tts", date(2026, 2, 1), "audio_seconds", Decimal("1.25")),
        ("sub-1", "tts", date(2026, 2, 1), "characters", 40),
        ("sub-0", "paygo", date(2026, 2, 14), "input", 7), ("sub-0", "paygo", date(2026, 2, 14), "cached_input", 2)]
    assert isinstance(next(r for r in meter_rows(usage) if r[3] == "audio_seconds")[4], Decimal)
