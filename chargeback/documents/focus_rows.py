"""FOCUS 1.2 rows of one invoice line: one per meter it charges (pay-as-you-go), uses (pool share) or
leaves unpriced, each with its exact list cost and its part of the line's rounded amount.

The parts of a line are split by largest remainder (``billing.pools.largest_remainder``), so the rows of
a line sum exactly to the amount on the invoice. Column rules quoted from the FOCUS 1.2 specification
(FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, specification/columns/*.md).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chargeback.billing import meter_rates
from chargeback.billing.charges import PaygLine, PoolLine, UnpricedUsage
from chargeback.billing.pools import largest_remainder
from chargeback.usage.meters import CACHED_METERS

Row = dict[str, Any]
# "ListCost MUST equal ListUnitPrice x PricingQuantity": a per-second share of an hourly rate does not
# always end in decimal; such figures are written to 18 places (far below any currency's minor unit).
_PLACES = Decimal("1e-18")
RESOURCE_TYPE = "Azure OpenAI deployment"


def number(value: Decimal | int) -> str:
    """Plain digits, never an exponent (str(Decimal) may write 1E+3); 18 places at most."""
    if isinstance(value, int):
        return str(value)
    if value.as_tuple().exponent < -18:   # type: ignore[operator]
        value = value.quantize(_PLACES).normalize()
    return format(value, "f")


def instant(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def split(amount: Decimal, weights: Mapping[str, Decimal], step: Decimal) -> dict[str, Decimal]:
    """``amount`` shared by ``weights`` to the minor unit (largest remainder); all to the first when no
    weight is above 0 (a line charged on nothing measurable, e.g. a pool's idle capacity)."""
    keys = list(weights)
    if not amount or not any(weights.values()):
        return {k: (amount if i == 0 else Decimal(0) * step) for i, k in enumerate(keys)}
    if amount < 0:   # a credit: split its size, keep its sign
        return {k: -v for k, v in largest_remainder(-amount, weights, step).items()}
    return largest_remainder(amount, weights, step)


def sku_price_details(meter: str) -> str:
    """KeyValueFormat properties shared by every row of a SkuPriceId; custom keys start with ``x_``."""
    modality = "Audio" if "audio" in meter else "Image" if "image" in meter else "Text"
    direction = "Output" if meter.endswith("output") else "Input"
    cached = "true" if meter in CACHED_METERS else "false"
    return (f'{{"x_Cached":{cached},"x_Direction":"{direction}","x_Meter":"{meter}",'
            f'"x_Modality":"{modality}"}}')


def _period(start: date, last_day: date) -> Row:
    return {"ChargePeriodStart": instant(start), "ChargePeriodEnd": instant(last_day + timedelta(days=1)),
            "x_PricePeriod": f"{start.isoformat()}/{last_day.isoformat()}"}


def _costs(billed: Decimal, listed: Decimal) -> Row:
    # BilledCost and EffectiveCost are what the invoice charges (no discounts, no commitments);
    # ContractedCost: "MUST match the BilledCost" for a charge without a contracted unit price.
    return {"BilledCost": number(billed), "EffectiveCost": number(billed), "ContractedCost": number(billed),
            "ListCost": number(listed)}


def _meter_row(sku: str, meter: str, quantity: int | Decimal) -> Row:
    return {"ChargeCategory": "Usage", "SkuId": sku, "SkuPriceId": f"{sku}/{meter}",
            "SkuMeter": meter_rates.label(meter), "SkuPriceDetails": sku_price_details(meter), "x_Meter": meter,
            "ConsumedQuantity": number(quantity), "ConsumedUnit": meter_rates.counted_in(meter)}


def _first_carries(rows: list[Row], requests: int, unmetered: int) -> list[Row]:
    """Requests are per line: the first row carries them, so they sum over rows without repeating."""
    for index, row in enumerate(rows):
        row["x_Requests"], row["x_UnmeteredRequests"] = (requests, unmetered) if index == 0 else (0, 0)
    return rows


def payg_rows(line: PaygLine, step: Decimal) -> list[Row]:
    """One row per charged meter; a line that charged nothing (only unmetered calls) is one Requests row."""
    sku = f"{line.deployment}/payg"
    meters = line.priced_meters()
    listed = {m: meter_rates.meter_cost(m, line.meters.quantity(m), line.rates[m], line.unit) for m in meters}
    billed = split(line.amount, listed, step)
    rows = []
    for meter in meters:
        quantity, rate = line.meters.quantity(meter), line.rates[meter]
        rows.append({**_meter_row(sku, meter, quantity), **_costs(billed[meter], listed[meter]),
                     "ListUnitPrice": number(rate), "PricingUnit": meter_rates.rate_unit(meter, line.unit),
                     "PricingQuantity": number(meter_rates.pricing_quantity(meter, quantity, line.unit)),
                     "ChargeDescription": f"{line.deployment}: {meter_rates.label(meter).lower()} at {rate} per "
                                          f"{meter_rates.rate_unit(meter, line.unit)}"})
    if not rows:
        rows.append({**_meter_row(sku, "input", 0), **_costs(line.amount, line.amount), "ListUnitPrice": "0",
                     "PricingUnit": "Requests", "PricingQuantity": str(line.requests), "ConsumedUnit": "Requests",
                     "ConsumedQuantity": str(line.requests), "SkuMeter": "Requests", "SkuPriceId": f"{sku}/requests",
                     "SkuPriceDetails": '{"x_Meter":"requests"}', "x_Meter": "requests",
                     "ChargeDescription": f"{line.deployment}: calls without reported usage, not charged"})
    common = {**_period(line.period_start, line.period_end), "PricingCategory": "Standard",
              "ChargeFrequency": "Usage-Based", "x_ChargeKind": "payg", "x_Subscription": line.subscription,
              "ResourceId": line.deployment, "ResourceName": line.deployment, "ResourceType": RESOURCE_TYPE,
              "x_Models": " ".join(line.models), "x_PriceEffectiveFrom": (line.price_from or line.period_start)
              .isoformat(), "x_LineAmount": number(line.amount), "x_LineExactAmount": number(line.exact_amount)}
    return _first_carries([{**common, **row} for row in rows], line.requests, line.unmetered)


def pool_rows(line: PoolLine, step: Decimal, hours: int) -> list[Row]:
    """A pool share per meter the department used, split by each meter's weighted quantity; the idle
    capacity a pool had no use for is one row of its hours."""
    sku = f"{line.pool}/pool"
    used = line.meters.used()
    weighted = {m: line.weights.get(m, Decimal(0)) * q for m, q in used.items()}
    billed = split(line.amount, weighted, step)
    rows = [{**_meter_row(sku, meter, quantity), **_costs(billed[meter], billed[meter]),
             "PricingUnit": f"Weighted {meter_rates.counted_in(meter)}", "PricingQuantity": number(weighted[meter]),
             "x_PoolWeight": number(line.weights.get(meter, Decimal(0))), "x_WeightedTokens": number(weighted[meter]),
             "ChargeDescription": f"{line.pool} provisioned throughput: share of the pool's cost {line.pool_cost} "
                                  f"for {meter_rates.label(meter).lower()}"}
            for meter, quantity in used.items()]
    if not rows and line.subscriptions:   # used only by calls that never reported their usage
        rows.append({"ChargeCategory": "Usage", "SkuId": sku, "SkuPriceId": f"{sku}/requests", "SkuMeter": "Requests",
                     "SkuPriceDetails": '{"x_Meter":"requests"}', "x_Meter": "requests",
                     "ConsumedQuantity": str(line.requests), "ConsumedUnit": "Requests",
                     "PricingQuantity": str(line.requests), "PricingUnit": "Requests",
                     **_costs(line.amount, line.amount),
                     "ChargeDescription": f"{line.pool} provisioned throughput: calls without reported usage"})
    if not rows:
        rows.append({"ChargeCategory": "Usage", "SkuId": sku, "SkuPriceId": f"{sku}/capacity",
                     "SkuMeter": "Provisioned capacity", "SkuPriceDetails": '{"x_Meter":"capacity"}',
                     "x_Meter": "capacity", "ConsumedQuantity": str(hours), "ConsumedUnit": "Hours",
                     "PricingQuantity": str(hours), "PricingUnit": "Hours", **_costs(line.amount, line.amount),
                     "ChargeDescription": f"{line.pool} provisioned throughput: the pool's cost {line.pool_cost} "
                                          "for capacity nobody used (idle capacity)"})
    common = {**_period(line.period_start, line.period_end), "PricingCategory": "Other",
              "ChargeFrequency": "Recurring", "x_ChargeKind": "pool-share", "ResourceId": line.pool,
              "ResourceName": line.pool, "ResourceType": RESOURCE_TYPE, "x_Subscription": " ".join(line.subscriptions),
              "x_Models": " ".join(line.models), "x_PoolShare": number(line.share), "x_LineAmount": number(line.amount)}
    return _first_carries([{**common, **row} for row in rows], line.requests, line.unmetered)


def unpriced_rows(usage: UnpricedUsage, zero: Decimal) -> list[Row]:
    """Usage not charged, per meter, at no cost; the reason is in the description."""
    deployment = usage.deployment or "(no deployment)"
    sku = f"{usage.deployment or 'unknown'}/unpriced"
    rows = [{**_meter_row(sku, meter, quantity), "PricingUnit": meter_rates.counted_in(meter),
             "PricingQuantity": number(quantity)} for meter, quantity in usage.meters.used().items()]
    if not rows:
        rows.append({**_meter_row(sku, "input", 0), "SkuMeter": "Requests", "SkuPriceId": f"{sku}/requests",
                     "SkuPriceDetails": '{"x_Meter":"requests"}', "x_Meter": "requests",
                     "ConsumedQuantity": str(usage.requests), "ConsumedUnit": "Requests",
                     "PricingQuantity": str(usage.requests), "PricingUnit": "Requests"})
    common = {**_period(usage.first_day, usage.last_day), **_costs(zero, zero), "PricingCategory": "Standard",
              "ChargeFrequency": "Usage-Based", "x_ChargeKind": "unpriced", "x_Subscription": usage.subscription,
              "ResourceId": usage.deployment or None, "ResourceName": usage.deployment or None,
              "ResourceType": RESOURCE_TYPE if usage.deployment else None, "x_Models": " ".join(usage.models),
              "ChargeDescription": f"{deployment}: {usage.reason or 'no price or pool in effect'}, not charged"}
    return _first_carries([{**common, **row} for row in rows], usage.requests, usage.unmetered)
