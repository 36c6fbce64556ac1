"""Meters priced: what each meter is called and counted in, and what a line's meters cost at its rates.

A line's amount is still one exact sum rounded once (DESIGN.md "Rounding"): the per-unit meters are summed
before the one division by the unit, as the first release did, and ``audio_seconds`` adds
``seconds x audio_hour / 3600`` (prorated per second).
"""
from __future__ import annotations

from decimal import Decimal

from chargeback.config.model import LEGACY_WEIGHTED, UNITS, Price
from chargeback.usage.meters import METERS, MeterQuantities

SECONDS_PER_HOUR = 3600
LABELS = {
    "input": "Input tokens", "cached_input": "Cached input tokens",
    "cache_write_input": "Cache write input tokens", "audio_input": "Audio input tokens",
    "cached_audio_input": "Cached audio input tokens", "image_input": "Image input tokens",
    "cached_image_input": "Cached image input tokens", "output": "Output tokens",
    "audio_output": "Audio output tokens", "image_output": "Image output tokens",
    "audio_seconds": "Audio seconds", "characters": "Input characters",
}


def label(meter: str) -> str:
    """What a reader calls the meter: ``Audio input tokens``."""
    return LABELS[meter]


def counted_in(meter: str) -> str:
    """The plural unit a meter's quantity counts (FOCUS unit format): Tokens, Characters, Seconds."""
    return {"audio_seconds": "Seconds", "characters": "Characters"}.get(meter, "Tokens")


def rate_unit(meter: str, unit: str | None) -> str:
    """What a meter's rate is per, in FOCUS unit format: ``1000000 Tokens``, ``1000 Characters``, ``Hours``."""
    if meter == "audio_seconds":
        return "Hours"
    return f"{UNITS[unit or '1M']} {counted_in(meter)}"


def rates_in_effect(price: Price, meters: MeterQuantities) -> dict[str, Decimal]:
    """The rate of every meter the line used (and of the first release's three, when priced), by meter."""
    out: dict[str, Decimal] = {}
    for meter, quantity in zip(METERS, meters.values(), strict=False):   # values(): METERS, then reasoning
        if quantity or meter in LEGACY_WEIGHTED:
            rate = price.audio_hour if meter == "audio_seconds" else price.rate(meter)
            if rate is not None:
                out[meter] = rate
    return out


def unpriced_meters(price: Price, meters: MeterQuantities,
                    rates: dict[str, Decimal] | None = None) -> MeterQuantities:
    """The line's usage on meters the price entry has no rate for (not charged, listed instead); ``rates``:
    ``rates_in_effect(price, meters)`` if the caller has it already."""
    rates = rates_in_effect(price, meters) if rates is None else rates
    missing = {m: q for m, q in meters.used().items() if m not in rates}
    return MeterQuantities(**missing)   # type: ignore[arg-type]


def unrated(meters: MeterQuantities, rates: dict[str, Decimal]) -> MeterQuantities | None:
    """``unpriced_meters`` given the rates in effect, or None when every meter used has a rate."""
    missing = {meter: quantity for meter, quantity in zip(METERS, meters.values(), strict=False)
               if quantity and meter not in rates}
    return MeterQuantities(**missing) if missing else None   # type: ignore[arg-type]


def exact_amount(price: Price, meters: MeterQuantities, rates: dict[str, Decimal] | None = None) -> Decimal:
    """The line's exact amount at the rates in effect, before its one rounding (``rates`` as unpriced_meters)."""
    rates = rates_in_effect(price, meters) if rates is None else rates
    per_unit = [meters.quantity(m) * rate for m, rate in rates.items() if m != "audio_seconds"]
    amount = sum(per_unit, Decimal(0)) / price.tokens_per_unit if per_unit else Decimal(0)
    if "audio_seconds" in rates and meters.audio_seconds:
        amount += meters.audio_seconds * rates["audio_seconds"] / SECONDS_PER_HOUR
    return amount


def meter_cost(meter: str, quantity: int | Decimal, rate: Decimal, unit: str | None) -> Decimal:
    """One meter's exact list cost: quantity x rate per unit (audio: per hour, prorated per second)."""
    if meter == "audio_seconds":
        return quantity * rate / SECONDS_PER_HOUR
    return quantity * rate / UNITS[unit or "1M"]


def pricing_quantity(meter: str, quantity: int | Decimal, unit: str | None) -> Decimal:
    """The quantity in the rate's unit: tokens / 1,000,000, seconds / 3,600."""
    if meter == "audio_seconds":
        return Decimal(quantity) / SECONDS_PER_HOUR
    return Decimal(quantity) / UNITS[unit or "1M"]


def rate_per_text(meter: str, unit: str | None) -> str:
    """What a rate is per, as an invoice reads: ``1M tokens``, ``1K characters``, ``hour``."""
    if meter == "audio_seconds":
        return "hour"
    return f"{unit or '1M'} {counted_in(meter).lower()}"


def weights_text(weights: dict[str, Decimal]) -> str:
    """A pool's weighting in words: ``1 × input tokens + 4 × output tokens`` (weights of 0 left out)."""
    named = [f"{format(w.normalize(), 'f')} × {label(m).lower()}" for m, w in weights.items() if w]
    return " + ".join(named) or "nothing"
