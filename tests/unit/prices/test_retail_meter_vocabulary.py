"""Every meter a retail meter name can be read as is one of the product's own meters (chargeback/meter_names.py)."""
from __future__ import annotations

from chargeback.meter_names import TOKEN_METERS
from chargeback.prices import meter_names


def test_the_retail_reader_only_names_the_products_token_meters():
    read_as = set(meter_names._METER.values())
    assert read_as <= set(TOKEN_METERS), read_as - set(TOKEN_METERS)
    # the reader reads no cache-write meter (priced from config only); every other token meter it can read
    assert set(TOKEN_METERS) - read_as == {"cache_write_input"}
