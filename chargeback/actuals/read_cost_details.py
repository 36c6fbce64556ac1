"""The EA and MCA actual-cost ("cost and usage details") CSV of Cost Management.

Columns relied on (learn.microsoft.com, cost-management-billing/dataset-schema/cost-usage-details-ea,
version 2024-08-01, and cost-usage-details-mca, version 2023-12-01-preview); names compare
case-insensitively because the EA file capitalises them and the MCA file does not:
``ResourceId``; ``MeterName`` / ``meterName``; ``CostInBillingCurrency`` / ``costInBillingCurrency`` ("cost of
the charge in the billing currency before credits or taxes"); ``Quantity`` / ``quantity`` in
``UnitOfMeasure`` / ``unitOfMeasure`` (e.g. ``1K``: the quantity counts blocks of 1,000 tokens);
``BillingCurrencyCode`` (EA) / ``billingCurrency`` (MCA); ``Date`` / ``date`` ("the usage or purchase
date of the charge"; exports write MM/DD/YYYY, ISO dates are accepted too).

In the *actual* cost file a reservation's purchase is a row of its own and its usage rows cost 0; use the
amortised cost file (or FOCUS, whose EffectiveCost is amortised) to spread a PTU reservation over months.
"""
from __future__ import annotations

from chargeback.actuals.schema import ExportSchema

COST_DETAILS = ExportSchema(
    name="cost details",
    marker="CostInBillingCurrency",
    resource=("ResourceId",),
    meter=("MeterName",),
    cost=("CostInBillingCurrency",),
    quantity=("Quantity",),
    unit=("UnitOfMeasure",),
    currency=("BillingCurrencyCode", "BillingCurrency"),
    day=("Date",),
)


def cost_details_kind(header: list[str]) -> str:
    """ "EA cost details" when the header has EA's ``BillingCurrencyCode``, else "MCA cost details"."""
    names = {h.strip().casefold() for h in header}
    return "EA cost details" if "billingcurrencycode" in names else "MCA cost details"
