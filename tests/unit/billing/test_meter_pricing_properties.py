"""Properties of pricing per meter, against an independent oracle in Fractions: one line sums all its meters
exactly and is rounded half up once; unpriced meters are never charged; the FOCUS rows of a line split it exactly."""
from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.billing.pricing import price_month
from chargeback.config.loading import parse_config
from chargeback.documents.focus import render_focus_csv
from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from tests.fixtures.invoice_inputs import meta

# Rates of the entry in effect, written out here (per 1M; audio per hour). No image output and no
# characters rate: those meters are unpriced. No cached_audio_input: it falls back to audio_input.
RATES = {"input": Fraction("2.5"), "cached_input": Fraction("1.25"), "cache_write_input": Fraction("3.75"),
         "audio_input": Fraction(40), "cached_audio_input": Fraction(40), "image_input": Fraction(10),
         "cached_image_input": Fraction("2.5"), "output": Fraction(10), "audio_output": Fraction(80)}
AUDIO_HOUR = Fraction("0.37")
CONFIG = parse_config("""
currency: USD
departments: [{id: a, name: A, subscriptions: [sub-a]}]
prices:
  - {deployment: omni, effective_from: 2026-01-01, unit: 1M, input: 2.5, cached_input: 1.25, cache_write_input: 3.75,
     audio_input: 40, image_input: 10, cached_image_input: 2.5, output: 10, audio_output: 80, audio_hour: 0.37}
""")
TOKENS = st.integers(0, 5_000_000)
meters = st.builds(
    MeterQuantities, input=TOKENS, cached_input=TOKENS, cache_write_input=TOKENS, audio_input=TOKENS,
    cached_audio_input=TOKENS, image_input=TOKENS, cached_image_input=TOKENS, output=TOKENS, audio_output=TOKENS,
    image_output=TOKENS, characters=TOKENS,
    audio_seconds=st.decimals(min_value=0, max_value=100_000, places=1, allow_nan=False))


def half_up_cents(value: Fraction) -> Decimal:
    return Decimal(math.floor(value * 100 + Fraction(1, 2))) / 100


@settings(max_examples=60, deadline=None)
@given(st.lists(meters, min_size=1, max_size=4))
def test_a_line_is_every_meter_at_its_rate_rounded_once(calls):
    records = [UsageRecord(f"r{n}", datetime(2026, 3, 1 + n, tzinfo=UTC), "sub-a", "omni", meters=m)
               for n, m in enumerate(calls)]
    charges = price_month("2026-03", aggregate_month("2026-03", records), CONFIG)
    [line] = charges.department("a").lines
    total = {f: sum(getattr(m, f) for m in calls) for f in (*RATES, "image_output", "characters", "audio_seconds")}
    exact = sum(Fraction(total[m]) * rate for m, rate in RATES.items()) / 1_000_000 \
        + Fraction(total["audio_seconds"]) * AUDIO_HOUR / 3600
    assert line.amount == half_up_cents(exact)
    assert abs(Fraction(line.exact_amount) - exact) < Fraction(1, 10**40)
    unpriced = {m: q for u in charges.unpriced for m, q in u.meters.used().items()}
    assert unpriced == {m: total[m] for m in ("image_output", "characters") if total[m]}
    rows = list(csv.DictReader(io.StringIO(render_focus_csv(charges, meta("2026-03")).decode())))
    billed = [Decimal(r["BilledCost"]) for r in rows if r["x_ChargeKind"] == "payg"]
    assert sum(billed, Decimal(0)) == line.amount and all(b >= 0 for b in billed)
