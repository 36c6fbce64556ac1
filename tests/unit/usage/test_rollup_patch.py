"""The merged sum's encoding patched in the groups a delta touched equals the sum encoded anew."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.usage.aggregation import aggregate_month
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord
from chargeback.usage.rollup_delta import add_groups, decode_groups, encode_groups, patch_encoded


def record(n: int, day: int, who: int, tokens: int, spilled: bool) -> UsageRecord:
    """Day 0: a record stamped in November (counted in ``outside_month``)."""
    at = datetime(2026, 10, day, 12, tzinfo=UTC) if day else datetime(2026, 11, 1, tzinfo=UTC)
    return UsageRecord(f"r{n}", at, f"sub-{who}", "gpt-4o-ptu" if spilled else "gpt-4o",
                       meters=MeterQuantities(input=tokens, audio_seconds=Decimal(n % 3) / 4),
                       served_deployment="gpt-4o" if spilled else "")


records = st.lists(st.builds(record, n=st.integers(0, 50), day=st.integers(0, 31), who=st.integers(0, 3),
                             tokens=st.integers(0, 10**10), spilled=st.booleans()), max_size=25)


def canonical(encoded: dict) -> dict:
    return {**encoded, "groups": sorted(encoded["groups"]), "spilled": sorted(encoded["spilled"])}


@settings(max_examples=60, deadline=None)
@given(before=records, added=records)
def test_patched_equals_encoded_anew(before, added):
    encoded = json.loads(json.dumps(encode_groups(aggregate_month("2026-10", before))))   # as read back
    usage, part = decode_groups(copy.deepcopy(encoded)), aggregate_month("2026-10", added)
    add_groups(usage, part)
    patch_encoded(encoded, usage, part)
    assert canonical(encoded) == canonical(json.loads(json.dumps(encode_groups(usage))))
    assert decode_groups(encoded) == aggregate_month("2026-10", [*before, *added])   # no attribution here
