"""Generated Cost Management exports (FOCUS 1.2) of a month: for the actuals tests and the import benchmark.

The column lists are the documented ones, in order (learn.microsoft.com, cost-management-billing/
dataset-schema: cost-usage-details-focus 1.2-preview and 1.0, cost-usage-details-ea 2024-08-01,
cost-usage-details-mca 2023-12-01-preview). The generator keeps its expected totals in integer
micro-units, independently of the Decimal arithmetic of the reader it checks.
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path


def _columns(text: str) -> list[str]:
    return text.split()


FOCUS_1_2 = _columns("""
BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency BillingPeriodEnd
BillingPeriodStart CapacityReservationId CapacityReservationStatus ChargeCategory ChargeClass ChargeDescription
ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId
CommitmentDiscountName CommitmentDiscountQuantity CommitmentDiscountStatus CommitmentDiscountType
CommitmentDiscountUnit ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost InvoiceId
InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingCurrency PricingQuantity PricingUnit ProviderName
PublisherName RegionId RegionName ResourceId ResourceName ResourceType ServiceCategory ServiceName
ServiceSubcategory SkuId SkuMeter SkuPriceDetails SkuPriceId SubAccountId SubAccountName SubAccountType Tags
x_AccountId x_AccountName x_AccountOwnerId x_AmortizationClass x_BilledCostInUsd x_BilledUnitPrice
x_BillingAccountId x_BillingAccountName x_BillingExchangeRate x_BillingExchangeRateDate x_BillingProfileId
x_BillingProfileName x_ContractedCostInUsd x_CostAllocationRuleName x_CostCenter x_CustomerId x_CustomerName
x_EffectiveCostInUsd x_EffectiveUnitPrice x_InvoiceSectionId x_InvoiceSectionName x_ListCostInUsd
x_PartnerCreditApplied x_PartnerCreditRate x_PricingBlockSize x_PricingCurrency x_PricingSubcategory
x_PricingUnitDescription x_PublisherCategory x_PublisherId x_ResellerId x_ResellerName x_ResourceGroupName
x_ResourceType x_ServiceModel x_ServicePeriodEnd x_ServicePeriodStart x_SkuDescription x_SkuDetails
x_SkuIsCreditEligible x_SkuMeterCategory x_SkuMeterId x_SkuMeterName x_SkuMeterSubcategory x_SkuOfferId
x_SkuOrderId x_SkuOrderName x_SkuPlanName x_SkuPartNumber x_SkuRegion x_SkuServiceFamily x_SkuTier""")

FOCUS_1_0 = _columns("""
BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency BillingPeriodEnd
BillingPeriodStart ChargeCategory ChargeClass ChargeDescription ChargeFrequency ChargePeriodEnd ChargePeriodStart
CommitmentDiscountCategory CommitmentDiscountId CommitmentDiscountName CommitmentDiscountStatus
CommitmentDiscountType ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost
InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingQuantity PricingUnit ProviderName PublisherName
RegionId RegionName ResourceId ResourceName ResourceType ServiceCategory ServiceName SkuId SkuPriceId
SubAccountId SubAccountName SubAccountType Tags x_AccountId x_AccountName x_AccountOwnerId x_BilledCostInUsd
x_BilledUnitPrice x_BillingAccountId x_BillingAccountName x_BillingExchangeRate x_BillingExchangeRateDate
x_BillingProfileId x_BillingProfileName x_ContractedCostInUsd x_CostAllocationRuleName x_CostCenter x_CustomerId
x_CustomerName x_EffectiveCostInUsd x_EffectiveUnitPrice x_InvoiceId x_InvoiceIssuerId x_InvoiceSectionId
x_InvoiceSectionName x_ListCostInUsd x_PartnerCreditApplied x_PartnerCreditRate x_PricingBlockSize
x_PricingCurrency x_PricingSubcategory x_PricingUnitDescription x_PublisherCategory x_PublisherId x_ResellerId
x_ResellerName x_ResourceGroupName x_ResourceType x_ServicePeriodEnd x_ServicePeriodStart x_SkuDescription
x_SkuDetails x_SkuIsCreditEligible x_SkuMeterCategory x_SkuMeterId x_SkuMeterName x_SkuMeterSubcategory
x_SkuOfferId x_SkuOrderId x_SkuOrderName x_SkuPartNumber x_SkuRegion x_SkuServiceFamily x_SkuTerm
x_SkuTier""")

EA_2024_08_01 = _columns("""
InvoiceSectionName AccountName AccountOwnerId SubscriptionId SubscriptionName ResourceGroup
ResourceLocation Date ProductName MeterCategory MeterSubCategory MeterId MeterName MeterRegion UnitOfMeasure
Quantity EffectivePrice CostInBillingCurrency CostCenter ConsumedService ResourceId Tags OfferId AdditionalInfo
ServiceInfo1 ServiceInfo2 ResourceName ReservationId ReservationName UnitPrice ProductOrderId ProductOrderName
Term PublisherType PublisherName ChargeType Frequency PricingModel AvailabilityZone BillingAccountId
BillingAccountName BillingCurrencyCode BillingPeriodStartDate BillingPeriodEndDate BillingProfileId
BillingProfileName InvoiceSectionId IsAzureCreditEligible PartNumber PayGPrice PlanName ServiceFamily
CostAllocationRuleName benefitId benefitName AccountId ResourceLocationNormalized""")

MCA_2023_12_01 = _columns("""
invoiceId previousInvoiceId billingAccountId billingAccountName billingProfileId billingProfileName
invoiceSectionId invoiceSectionName resellerName resellerMpnId costCenter billingPeriodEndDate
billingPeriodStartDate servicePeriodEndDate servicePeriodStartDate date serviceFamily productOrderId
productOrderName consumedService meterId meterName meterCategory meterSubCategory meterRegion ProductId
ProductName SubscriptionId subscriptionName publisherType publisherId publisherName resourceGroupName ResourceId
resourceLocation location effectivePrice quantity unitOfMeasure chargeType billingCurrency pricingCurrency
costInBillingCurrency costInPricingCurrency costInUsd paygCostInBillingCurrency paygCostInUsd
exchangeRatePricingToBilling exchangeRateDate isAzureCreditEligible serviceInfo1 serviceInfo2 additionalInfo tags
PayGPrice frequency term reservationId reservationName pricingModel unitPrice costAllocationRuleName benefitId
benefitName provider""")


AOAI_RESOURCE = ("/subscriptions/0f1e2d3c-0000-4000-8000-00000000aaaa/resourceGroups/rg-ai/providers/"
                 "Microsoft.CognitiveServices/accounts/aoai-shared")
OTHER_RESOURCES = tuple(f"/subscriptions/0f1e2d3c-0000-4000-8000-00000000aaaa/resourceGroups/rg-{n}/providers/"
                        f"Microsoft.Compute/virtualMachines/vm-{n}" for n in range(8))
# (meter name, micro-dollars per 1K tokens): real Global Standard meter names of gpt-4o 2024-08-06 and one
# deployment the config does not map (gpt-4o-mini), so every generated month has an unmapped group.
TOKEN_METERS = (("gpt 4o 0806 Inp glbl Tokens", 2_500), ("gpt 4o 0806 cached Inp glbl Tokens", 1_250),
                ("gpt 4o 0806 Outp glbl Tokens", 10_000), ("gpt 4o mini 0718 Inp glbl Tokens", 150))


@dataclass
class ExpectedMonth:
    """What the generated file holds for the AOAI resource, in micro-dollars and tokens per meter."""

    rows: int = 0
    kept_rows: int = 0
    cost_micros: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)


def write_focus_month(path: Path, month: str, rows: int, seed: int = 7, other_share: float = 0.5,
                      padding: int = 0) -> ExpectedMonth:
    """A FOCUS 1.2 export of ``month`` with ``rows`` usage rows, about ``other_share`` of them of other
    resources; ``padding`` characters of tag JSON per row make a file as large as a big tenant's."""
    rng = random.Random(seed)
    expected = ExpectedMonth()
    index = {name: n for n, name in enumerate(FOCUS_1_2)}
    tags = '{"cost-center":"' + "x" * padding + '"}' if padding else ""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(FOCUS_1_2)
        for _ in range(rows):
            day = rng.randint(1, 28)
            if rng.random() < other_share:
                meter, resource, cost_micros, blocks = "D4s v3", rng.choice(OTHER_RESOURCES), rng.randint(1, 10**7), 24
            else:
                meter, rate = rng.choice(TOKEN_METERS)
                resource, blocks = AOAI_RESOURCE, rng.randint(1, 50_000)   # 1K-token blocks
                cost_micros = blocks * rate
                expected.kept_rows += 1
                expected.cost_micros[meter] = expected.cost_micros.get(meter, 0) + cost_micros
                expected.tokens[meter] = expected.tokens.get(meter, 0) + blocks * 1000
            cost = f"{cost_micros // 10**6}.{cost_micros % 10**6:06d}"
            values = {"BilledCost": cost, "EffectiveCost": cost, "BillingCurrency": "USD", "ChargeCategory": "Usage",
                      "ChargePeriodStart": f"{month}-{day:02d}T00:00:00Z",
                      "ChargePeriodEnd": f"{month}-{day:02d}T23:59:59Z", "ConsumedQuantity": str(blocks),
                      "ConsumedUnit": "1K Tokens", "ResourceId": resource, "SkuMeter": meter,
                      "x_SkuMeterName": meter, "Tags": tags}
            row = [""] * len(FOCUS_1_2)
            for column, value in values.items():
                row[index[column]] = value
            writer.writerow(row)
            expected.rows += 1
    return expected
