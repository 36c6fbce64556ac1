"""Money: currencies, their minor units, and the one way a figure is rounded."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not the usual 2 digits (cents).
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}

def minor_unit(currency: str) -> int:
    """Digits after the decimal point an invoice shows for ``currency`` (2 unless listed)."""
    return _MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency`` an invoice can show: 0.01 for USD, 1 for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round once to the currency's minor unit, half away from zero (how invoices are usually read)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def zero(currency: str) -> Decimal:
    """Nothing, in ``currency``'s minor unit: ``0.00`` for USD, ``0`` for JPY."""
    return Decimal(0).scaleb(-minor_unit(currency))


def format_money(amount: Decimal, currency: str) -> str:
    """An amount as people read it in text: ``1,234.50 USD`` (thousands separated, digits as stored)."""
    return f"{amount:,} {currency}"
