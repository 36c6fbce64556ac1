"""The month's charges as a FinOps FOCUS 1.2 CSV: one row per meter of every invoice line, pool share,
unpriced usage and platform fee; ``BilledCost`` sums exactly to the invoices. In modes ``actual`` and
``true_up`` ``EffectiveCost`` is Azure's actual cost and the true-up is an ``Adjustment`` row (focus_actual.py).

Platform fees (markup) are ``ChargeCategory=Adjustment`` rows with ``x_ChargeKind=markup``: FOCUS requires a
consumed and a pricing quantity on every ``Usage`` row, and a fee on a subtotal has neither. Free text is
formula-safe (``safe_text``); identifiers are written as they are when they look like identifiers and
percent-encoded otherwise, so an id is never altered by a prefix and never starts a formula.
"""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from chargeback.billing import meter_rates
from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine
from chargeback.documents import focus_rows
from chargeback.documents.focus_actual import apply_actuals
from chargeback.documents.focus_attribution import EXTRA_TAGS, PREFIX, split_rows
from chargeback.documents.focus_rows import Row, instant, number
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.documents.safe_text import csv_text
from chargeback.money import quantum, zero
from chargeback.months import month_bounds
from chargeback.usage.attribution_lines import LineAttribution

SERVICE_NAME, SERVICE_CATEGORY, SERVICE_SUBCATEGORY = "Azure OpenAI", "AI and Machine Learning", "Generative AI"
PUBLISHER = "Microsoft"
# Provider-defined tags "MUST be prefixed with a provider-specified tag key prefix" (FOCUS 1.2 Tags); the calls'
# own tags are user-defined and written unprefixed (documents/focus_attribution.py says why).
TAG_PREFIX = PREFIX
COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "BillingPeriodStart",
    "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "PricingCategory", "ServiceName", "ServiceCategory",
    "ServiceSubcategory", "ProviderName", "PublisherName", "InvoiceIssuerName", "InvoiceId", "BillingAccountId",
    "BillingAccountName", "SubAccountId", "SubAccountName", "ConsumedQuantity", "ConsumedUnit", "PricingQuantity",
    "PricingUnit", "ListUnitPrice", "SkuId", "SkuPriceId", "SkuMeter", "SkuPriceDetails", "ResourceId",
    "ResourceName", "ResourceType", "Tags",
    "x_ChargeKind", "x_Meter", "x_CostCenter", "x_Subscription", "x_PricePeriod", "x_PriceEffectiveFrom",
    "x_InvoiceNumber", "x_Models", "x_Requests", "x_UnmeteredRequests", "x_LineAmount", "x_LineExactAmount",
    "x_PoolWeight", "x_WeightedTokens", "x_PoolShare")
# Written from Decimals and ints by this module: never text, so never prefixed (a -1.00 stays a number).
NUMERIC = frozenset({"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity",
                     "PricingQuantity", "ListUnitPrice", "x_Requests", "x_UnmeteredRequests", "x_LineAmount",
                     "x_LineExactAmount", "x_PoolWeight", "x_WeightedTokens", "x_PoolShare"})
IDS = frozenset({"InvoiceId", "BillingAccountId", "SubAccountId", "SkuId", "SkuPriceId", "ResourceId",
                 "x_InvoiceNumber", "x_Subscription"})
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")


def render_focus_csv(charges: MonthCharges, meta: InvoiceMeta, lines: LineAttribution | None = None) -> bytes:
    """UTF-8 CSV with a header row; ``BilledCost`` sums exactly to ``charges.grand_total``. With ``lines``
    (the month's attributed usage per line) a line's rows are split by end user and tags."""
    if meta.month != charges.month:
        raise ValueError(f"invoice metadata is for {meta.month}, the charges for {charges.month}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    first_day, next_first_day = month_bounds(charges.month)
    common = {"BillingCurrency": charges.currency, "BillingPeriodStart": instant(first_day),
              "BillingPeriodEnd": instant(next_first_day), "ServiceName": SERVICE_NAME,
              "ServiceCategory": SERVICE_CATEGORY, "ServiceSubcategory": SERVICE_SUBCATEGORY,
              "ProviderName": meta.issuer, "PublisherName": PUBLISHER, "InvoiceIssuerName": meta.issuer,
              "BillingAccountId": meta.billing_account_id, "BillingAccountName": meta.issuer}
    for department in charges.departments:
        mine = {**common, **_department(department, meta)}
        for row in _department_rows(department, charges, first_day, next_first_day, lines or LineAttribution()):
            extra = row.pop(EXTRA_TAGS, None)
            if extra:
                row["Tags"] = _tags(department, extra)
            writer.writerow(_written({**mine, **row}))
    return buffer.getvalue().encode("utf-8")


def _department_rows(department: DepartmentCharges, charges: MonthCharges, first_day: date,
                     next_first_day: date, lines: LineAttribution) -> list[Row]:
    step = quantum(charges.currency)
    hours = {(p.deployment, p.period_start): p.hours for p in charges.pools}
    rows: list[Row] = []
    for line in department.lines:
        if isinstance(line, PaygLine):
            rows += _payg(line, step, lines)
        else:
            rows += _pool(line, step, lines, hours.get((line.pool, line.period_start), 0))
    rows = apply_actuals(rows, department, step, first_day, next_first_day)   # modes actual and true_up
    if department.markup:
        rows.append(_markup(department, charges, first_day, next_first_day))
    for unpriced in charges.unpriced:
        if unpriced.department == department.department:
            rows += focus_rows.unpriced_rows(unpriced, zero(charges.currency))
    return rows


def _department(department: DepartmentCharges, meta: InvoiceMeta) -> Row:
    number = meta.invoice_number(department.department)
    return {"SubAccountId": department.department, "SubAccountName": department.name,
            "x_CostCenter": department.cost_center, "InvoiceId": number, "x_InvoiceNumber": number,
            "Tags": _tags(department)}


def _payg(line: PaygLine, step: Decimal, lines: LineAttribution) -> list[Row]:
    usages = lines.for_line((line.subscription,), line.deployment, line.period_start, line.period_end,
                            line.spilled_from)
    def measure(meter: str, quantity: int | Decimal) -> Row:
        rate = line.rates[meter]
        return {"PricingQuantity": number(meter_rates.pricing_quantity(meter, quantity, line.unit)),
                "ListCost": number(meter_rates.meter_cost(meter, quantity, rate, line.unit))}
    rows = split_rows(focus_rows.payg_rows(line, step), line.meters, usages, step, measure)
    if line.spilled_from:   # issue 15: a PTU's overflow, served at PAYG
        for row in rows:
            row[EXTRA_TAGS] = {**row.get(EXTRA_TAGS, {}), f"{TAG_PREFIX}spilledFrom": line.spilled_from}
    return rows


def _pool(line: PoolLine, step: Decimal, lines: LineAttribution, hours: int) -> list[Row]:
    usages = lines.for_line(line.subscriptions, line.pool, line.period_start, line.period_end)
    def measure(meter: str, quantity: int | Decimal) -> Row:
        weighted = number(line.weights.get(meter, Decimal(0)) * quantity)
        return {"PricingQuantity": weighted, "x_WeightedTokens": weighted, "ListCost": None}
    return split_rows(focus_rows.pool_rows(line, step, hours), line.meters, usages, step, measure)


def _tags(department: DepartmentCharges, more: dict[str, str] | None = None) -> str:
    """The department's provider-defined tags, then ``more`` (a row's own, already keyed)."""
    tags = {f"{TAG_PREFIX}department": department.department, f"{TAG_PREFIX}costCenter": department.cost_center,
            **(more or {})}
    return json.dumps(tags, ensure_ascii=False, sort_keys=True)


def _markup(department: DepartmentCharges, charges: MonthCharges, first_day: date, next_first_day: date) -> Row:
    percent = format(charges.markup_percent.normalize(), "f")
    amount = focus_rows.number(department.markup)
    return {"ChargeCategory": "Adjustment", "ChargeFrequency": "Recurring", "BilledCost": amount,
            "EffectiveCost": amount, "ListCost": amount, "ContractedCost": amount,
            "ChargePeriodStart": instant(first_day), "ChargePeriodEnd": instant(next_first_day),
            "ChargeDescription": f"Platform fee: {percent}% of the subtotal {department.subtotal}",
            "x_ChargeKind": "markup", "x_LineAmount": amount}


def identifier(value: str) -> str:
    """An id as it is when it looks like one; otherwise every byte but letters and digits percent-encoded
    (reversible with ``urllib.parse.unquote``, and starting with a letter, digit or ``%``: never a formula)."""
    if _ID.fullmatch(value):
        return value
    return "".join(c if c.isascii() and c.isalnum() else quote(c, safe="").replace("-", "%2D")
                   .replace(".", "%2E").replace("_", "%5F").replace("~", "%7E") for c in value)


def _written(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or key in NUMERIC or not isinstance(value, str):
            out[key] = value
        elif key == "x_Subscription":   # a pool line's subscriptions, space-separated
            out[key] = " ".join(identifier(part) for part in value.split(" ")) if value else value
        elif key in IDS:
            out[key] = identifier(value) if value else value
        else:
            out[key] = csv_text(value)
    return out
