"""Saved pages of the Azure Retail Prices API (https://prices.azure.com/api/retail/prices).

A page is ``{"BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items": [...], "NextPageLink",
"Count"}``; an item carries ``currencyCode``, ``tierMinimumUnits``, ``retailPrice``, ``unitPrice``,
``armRegionName``, ``location``, ``effectiveStartDate``, ``meterId``, ``meterName``, ``productName``,
``skuName``, ``serviceName``, ``serviceFamily``, ``unitOfMeasure``, ``type`` (Consumption, Reservation,
DevTestConsumption) and, for reservations, ``reservationTerm`` (learn.microsoft.com, "Azure Retail Prices
overview"). Azure OpenAI meters sit under ``serviceName`` "Foundry Models" (before that "Cognitive
Services"), in ``unitOfMeasure`` blocks of "1K" or "1M" tokens, or "1 Hour" for provisioned throughput.
Numbers are read as written (``Decimal``), never through a binary float.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from chargeback.errors import ChargebackError

OPENAI_SERVICES = ("Foundry Models", "Cognitive Services")
_UNIT = re.compile(r"\s*(\d+(?:\.\d+)?)?\s*([KkMm])?\s*(.*?)\s*")


class InvalidPriceFile(ChargebackError):
    """A saved Retail Prices page that could not be read; names the file and the item."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source, self.problem = source, problem


@dataclass(frozen=True)
class RetailItem:
    """One price of one meter in one region, as the API listed it."""

    meter_name: str
    sku_name: str
    product_name: str
    service_name: str
    region: str                  # armRegionName, e.g. "eastus" ("" for some global meters)
    unit_of_measure: str         # "1K", "1M", "1 Hour", "1 Month" ...
    price: Decimal               # retailPrice, per unit_of_measure
    tier_minimum: Decimal
    price_type: str              # "Consumption", "Reservation", ...
    effective_from: date
    currency: str
    reservation_term: str = ""

    @property
    def block(self) -> Decimal:
        """How many base units ``unit_of_measure`` counts: 1K -> 1000, 1M -> 1000000, 1 Hour -> 1."""
        match = _UNIT.fullmatch(self.unit_of_measure)
        number = Decimal(match[1]) if match and match[1] else Decimal(1)
        letter = (match[2] or "").lower() if match else ""
        return number * {"k": 1_000, "m": 1_000_000}.get(letter, 1)

    @property
    def base_unit(self) -> str:
        match = _UNIT.fullmatch(self.unit_of_measure)
        return match[3] if match else self.unit_of_measure


@dataclass(frozen=True)
class RetailPrices:
    """Every item of the saved pages, and whether the last page still pointed to more."""

    items: tuple[RetailItem, ...]
    sources: tuple[str, ...]
    next_page_link: str | None   # non-null: pages are missing, so a match may be missing too


def read_pages(pages: list[tuple[str, str]]) -> RetailPrices:
    """Items of saved pages ``(source, JSON text)``: each a page object, or a JSON list of page objects."""
    items: list[RetailItem] = []
    next_link: str | None = None
    for source, text in pages:
        try:
            document = json.loads(text, parse_float=Decimal, parse_int=Decimal)
        except json.JSONDecodeError as error:
            raise InvalidPriceFile(source, f"is not JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
                                   "save the API's answer as it came") from None
        for number, page in enumerate(document if isinstance(document, list) else [document]):
            if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
                raise InvalidPriceFile(source, f"page {number + 1} has no Items list: not a Retail Prices page")
            items.extend(_item(source, index, raw) for index, raw in enumerate(page["Items"]))
            link = page.get("NextPageLink")
            next_link = link if isinstance(link, str) and link else None
    return RetailPrices(items=tuple(items), sources=tuple(s for s, _ in pages), next_page_link=next_link)


def _item(source: str, index: int, raw: Any) -> RetailItem:
    where = f"Items[{index}]"
    if not isinstance(raw, dict):
        raise InvalidPriceFile(source, f"{where} is not an object")
    price = raw.get("retailPrice", raw.get("unitPrice"))
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
        raise InvalidPriceFile(source, f"{where}.retailPrice must be a number >= 0, got {price!r}")
    started = str(raw.get("effectiveStartDate", ""))
    try:
        effective = date.fromisoformat(started[:10])
    except ValueError:
        raise InvalidPriceFile(source, f"{where}.effectiveStartDate {started!r} is not a date") from None
    tier = raw.get("tierMinimumUnits", Decimal(0))
    return RetailItem(
        meter_name=_text(source, where, raw, "meterName"), sku_name=str(raw.get("skuName") or ""),
        product_name=str(raw.get("productName") or ""), service_name=str(raw.get("serviceName") or ""),
        region=str(raw.get("armRegionName") or ""), unit_of_measure=_text(source, where, raw, "unitOfMeasure"),
        price=price, tier_minimum=tier if isinstance(tier, Decimal) else Decimal(0),
        price_type=str(raw.get("type") or ""), effective_from=effective, currency=str(raw.get("currencyCode") or ""),
        reservation_term=str(raw.get("reservationTerm") or ""))


def _text(source: str, where: str, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidPriceFile(source, f"{where}.{key} is missing")
    return value.strip()
