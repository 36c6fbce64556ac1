"""The usage partition of a record does not depend on any setting: a redelivered event rewrites its own row."""
from __future__ import annotations

from datetime import UTC, datetime

from chargeback.settings import Settings
from chargeback.storage.usage_table import partition_key
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from chargeback.wiring import Services


def test_no_setting_changes_the_number_of_slices_the_store_keys_by():
    # The first release of this key read CHARGEBACK_USAGE_SHARDS; changing it mid-month re-keyed redeliveries.
    env = {"CHARGEBACK_STORAGE": "UseDevelopmentStorage=true", "CHARGEBACK_USAGE_SHARDS": "64"}
    store = Services(Settings.from_env(env)).usage
    assert store.shards == 16
    last_hour = UsageRecord("req-1", datetime(2026, 10, 31, 23, 0, tzinfo=UTC), "sub", "gpt-4o",
                            meters=MeterQuantities(input=1))
    first_hour = UsageRecord("req-2", datetime(2026, 10, 1, 0, 0, tzinfo=UTC), "sub", "gpt-4o",
                             meters=MeterQuantities(input=1))
    assert partition_key(last_hour, store.shards) == "2026-10~15"   # the last of 16 slices of October
    assert partition_key(first_hour, store.shards) == "2026-10~00"
