"""The month's charges as a FinOps FOCUS 1.0 CSV: one row per invoice line, fee and unpriced usage.

Platform fees (markup) are ``ChargeCategory=Adjustment`` rows with ``x_ChargeKind=markup``: FOCUS requires a
consumed and a pricing quantity on every ``Usage`` row, and a fee on a subtotal has neither.
"""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal

from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine, UnpricedUsage
from chargeback.config.model import UNITS
from chargeback.documents.invoice_meta import InvoiceMeta
from chargeback.usage.aggregation import month_bounds

SERVICE_NAME, SERVICE_CATEGORY, PUBLISHER = "Azure OpenAI", "AI and Machine Learning", "Microsoft"
COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "BillingPeriodStart",
    "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ServiceName", "ServiceCategory", "ProviderName", "PublisherName", "InvoiceIssuerName",
    "BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName", "ConsumedQuantity", "ConsumedUnit",
    "PricingQuantity", "PricingUnit", "SkuId", "ResourceId", "ResourceName", "Tags",
    "x_ChargeKind", "x_CostCenter", "x_Subscription", "x_PricePeriod", "x_InvoiceNumber", "x_Models",
    "x_Requests", "x_UnmeteredRequests", "x_InputTokens", "x_CachedInputTokens", "x_OutputTokens",
    "x_ReasoningTokens", "x_WeightedTokens", "x_PoolShare")
# Written from Decimals and ints by this module: never text, so never prefixed (a -1.00 stays a number).
NUMERIC = frozenset({"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity",
                     "PricingQuantity", "x_Requests", "x_UnmeteredRequests", "x_InputTokens", "x_CachedInputTokens",
                     "x_OutputTokens", "x_ReasoningTokens", "x_WeightedTokens", "x_PoolShare"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_focus_csv(charges: MonthCharges, meta: InvoiceMeta) -> bytes:
    """UTF-8 CSV with a header row; ``BilledCost`` sums exactly to ``charges.grand_total``."""
    if meta.month != charges.month:
        raise ValueError(f"invoice metadata is for {meta.month}, the charges for {charges.month}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    first_day, next_first_day = month_bounds(charges.month)
    common = {"BillingCurrency": charges.currency, "BillingPeriodStart": _instant(first_day),
              "BillingPeriodEnd": _instant(next_first_day), "ServiceName": SERVICE_NAME,
              "ServiceCategory": SERVICE_CATEGORY, "ProviderName": meta.issuer, "PublisherName": PUBLISHER,
              "InvoiceIssuerName": meta.issuer, "BillingAccountId": _account_id(meta.issuer),
              "BillingAccountName": meta.issuer}
    zero = Decimal(0).scaleb(-charges.minor_unit)   # 0.00 in USD, 0 in JPY
    for department in charges.departments:
        mine = {**common, **_department(department, meta)}
        for line in department.lines:
            row = _payg(line) if isinstance(line, PaygLine) else _pool(line)
            writer.writerow(_safe({**mine, **row}))
        if department.markup:
            writer.writerow(_safe({**mine, **_markup(department, charges, first_day, next_first_day)}))
        for unpriced in charges.unpriced:
            if unpriced.department == department.department:
                writer.writerow(_safe({**mine, **_unpriced(unpriced, zero)}))
    return buffer.getvalue().encode("utf-8")


def _instant(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _account_id(issuer: str) -> str:
    """A stable id for the shared instance's billing account, from its issuer's name."""
    return re.sub(r"[^a-z0-9]+", "-", issuer.lower()).strip("-") or "chargeback"


def _department(department: DepartmentCharges, meta: InvoiceMeta) -> dict:
    tags = {"department": department.department, "cost_center": department.cost_center}
    return {"SubAccountId": department.department, "SubAccountName": department.name,
            "x_CostCenter": department.cost_center, "x_InvoiceNumber": meta.invoice_number(department.department),
            "Tags": json.dumps(tags, ensure_ascii=False, sort_keys=True)}


def _number(value: Decimal | int) -> str:
    """Plain digits, never an exponent (str(Decimal) may write 1E+3)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _costs(amount: Decimal) -> dict:
    # Internal prices are the list prices and no discount applies: all four costs are the amount billed.
    return dict.fromkeys(("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"), _number(amount))


def _usage(line: PaygLine | PoolLine | UnpricedUsage, start: date, last_day: date) -> dict:
    return {"ChargeCategory": "Usage", "ChargeClass": "", "ChargePeriodStart": _instant(start),
            "ChargePeriodEnd": _instant(last_day + timedelta(days=1)),
            "ConsumedQuantity": str(line.prompt_tokens + line.completion_tokens), "ConsumedUnit": "Tokens",
            "x_Models": " ".join(line.models), "x_Requests": str(line.requests),
            "x_UnmeteredRequests": str(line.unmetered), "x_InputTokens": str(line.prompt_tokens),
            "x_CachedInputTokens": str(line.cached_tokens), "x_OutputTokens": str(line.completion_tokens),
            "x_ReasoningTokens": str(line.reasoning_tokens)}


def _payg(line: PaygLine) -> dict:
    tokens = line.prompt_tokens + line.completion_tokens
    return {**_usage(line, line.period_start, line.period_end), **_costs(line.amount),
            "ChargeDescription": f"{line.deployment} pay-as-you-go tokens at {line.input_rate} input, "
                                 f"{line.cached_input_rate} cached input, {line.output_rate} output per {line.unit}",
            "PricingQuantity": _number(Decimal(tokens) / UNITS[line.unit]), "PricingUnit": f"{line.unit} Tokens",
            "SkuId": line.deployment, "ResourceId": line.deployment, "ResourceName": line.deployment,
            "x_ChargeKind": "payg", "x_Subscription": line.subscription,
            "x_PricePeriod": f"{line.period_start.isoformat()}/{line.period_end.isoformat()}"}


def _pool(line: PoolLine) -> dict:
    idle = "" if line.subscriptions else " (idle capacity)"
    return {**_usage(line, line.period_start, line.period_end), **_costs(line.amount),
            "ChargeDescription": f"{line.pool} provisioned throughput: share of the pool's cost {line.pool_cost} "
                                 f"by weighted tokens{idle}",
            "PricingQuantity": _number(line.weighted_tokens), "PricingUnit": "Weighted Tokens",
            "SkuId": line.pool, "ResourceId": line.pool, "ResourceName": line.pool, "x_ChargeKind": "pool-share",
            "x_Subscription": " ".join(line.subscriptions),
            "x_PricePeriod": f"{line.period_start.isoformat()}/{line.period_end.isoformat()}",
            "x_WeightedTokens": _number(line.weighted_tokens), "x_PoolShare": _number(line.share)}


def _markup(department: DepartmentCharges, charges: MonthCharges, first_day: date, next_first_day: date) -> dict:
    percent = format(charges.markup_percent.normalize(), "f")
    return {"ChargeCategory": "Adjustment", "ChargeClass": "", **_costs(department.markup),
            "ChargePeriodStart": _instant(first_day), "ChargePeriodEnd": _instant(next_first_day),
            "ChargeDescription": f"Platform fee: {percent}% of the subtotal {department.subtotal}",
            "x_ChargeKind": "markup"}


def _unpriced(usage: UnpricedUsage, zero: Decimal) -> dict:
    deployment = usage.deployment or "(no deployment)"
    return {**_usage(usage, usage.first_day, usage.last_day), **_costs(zero),
            "ChargeDescription": f"{deployment}: no price or pool in effect, not charged",
            "PricingQuantity": str(usage.prompt_tokens + usage.completion_tokens), "PricingUnit": "Tokens",
            "SkuId": usage.deployment, "ResourceId": usage.deployment, "ResourceName": usage.deployment,
            "x_ChargeKind": "unpriced", "x_Subscription": usage.subscription,
            "x_PricePeriod": f"{usage.first_day.isoformat()}/{usage.last_day.isoformat()}"}


def _safe(row: dict) -> dict:
    """OWASP CSV-injection defence: text a spreadsheet would run as a formula gets a leading apostrophe."""
    return {key: ("'" + value if key not in NUMERIC and isinstance(value, str) and value.startswith(_FORMULA_START)
                  else value) for key, value in row.items()}
