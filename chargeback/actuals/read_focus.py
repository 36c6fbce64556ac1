"""The FOCUS cost and usage export (``FocusCost``) of Cost Management, FOCUS 1.0 and 1.2 columns.

Columns relied on (learn.microsoft.com, cost-management-billing/dataset-schema/cost-usage-details-focus):
``ResourceId``; ``SkuMeter`` (1.2: "Name of the usage meter ... Renamed from x_SkuMeterName in FOCUS 1.0"),
else ``x_SkuMeterName`` (1.0; still written, deprecated, in 1.2); ``EffectiveCost`` ("the amortized cost of
the charge after applying all reduced rates, discounts, and the applicable portion of relevant, prepaid
purchases": a reservation's purchase counts through its usage rows, not twice); ``ConsumedQuantity`` in
``ConsumedUnit``; ``BillingCurrency``; ``ChargePeriodStart`` ("inclusive start date and time of a charge
period", ISO 8601, e.g. 2024-01-01T00:00Z in 1.0 and 2024-01-01T00:00:00Z from 1.0r2 on). A row whose
``ChargeClass`` is "Correction" ("a correction to one or more charges invoiced in a previous billing period")
belongs to the month of its ``BillingPeriodStart``: finance books it on the invoice that carries it.
"""
from __future__ import annotations

from chargeback.actuals.schema import ExportSchema

FOCUS = ExportSchema(
    name="FOCUS",
    marker="EffectiveCost",
    resource=("ResourceId",),
    meter=("SkuMeter", "x_SkuMeterName"),
    cost=("EffectiveCost",),
    quantity=("ConsumedQuantity",),
    unit=("ConsumedUnit",),
    currency=("BillingCurrency",),
    day=("ChargePeriodStart",),
    charge_class=("ChargeClass",),
    billing_period=("BillingPeriodStart",),
)


def focus_version(header: list[str]) -> str:
    """ "FOCUS 1.2" when the header has 1.2's ``SkuMeter``, else "FOCUS 1.0" (only ``x_SkuMeterName``)."""
    names = {h.strip().casefold() for h in header}
    return "FOCUS 1.2" if "skumeter" in names else "FOCUS 1.0"
