"""price_month and the month-to-date cells read the groups as stored (MonthUsage.stored_groups) and route them
in runs (chargeback/billing/pricing: the groups one after the other of one subscription, deployment, model and
line added at once): what they make must not depend on the order the groups were stored in. The merged sum
of the refresh is stored in key order (rollup_delta.decode_groups of encode_groups: runs as long as a price
period), an aggregate read from the table in arrival order (runs of one group); reversed key order has the
days of a run falling, shuffled has no runs. Each is compared with the def4b52 code (test_mtd_identical's
frozen copies) on the arrival-order usage: the charges as their repr, the document as its JSON text.
"""
from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal

import pytest

from chargeback.billing.pricing import price_month
from chargeback.usage.aggregation import LineUsage, MonthUsage
from chargeback.usage.rollup_delta import decode_groups, encode_groups
from chargeback.workflow.month_to_date import to_date_document
from tests.unit.billing import pricing_def4b52
from tests.unit.billing.test_mtd_identical import MONTH, MONTHS, _month, _old_document

AS_OF = "2026-10-15T12:00:00+00:00"


def _restored(usage: MonthUsage, order: str) -> MonthUsage:
    """The same groups stored in another order (``key``, ``reversed``, ``shuffled``, or ``json``: through the
    merged sum's encoding, as the refresh reads it)."""
    if order == "json":
        return decode_groups(json.loads(json.dumps(encode_groups(usage))))
    out = MonthUsage(usage.month)
    out.outside_month = usage.outside_month
    groups, spilled = list(usage._groups.items()), list(usage._spilled.items())
    for items in (groups, spilled):
        items.sort(reverse=order == "reversed")
        if order == "shuffled":
            random.Random(len(items)).shuffle(items)
    out._groups, out._spilled = dict(groups), dict(spilled)
    return out


@pytest.mark.parametrize("order", ["key", "reversed", "shuffled", "json"])
@pytest.mark.parametrize("name", MONTHS)
def test_charges_and_document_do_not_depend_on_the_stored_order(name: str, order: str):
    usage, config = _month(name)
    stored = _restored(usage, order)
    assert list(stored._groups.items()) != list(usage._groups.items()) or order == "json"   # reordered indeed
    assert sorted(stored._groups.items()) == sorted(usage._groups.items())
    old = pricing_def4b52.price_month(MONTH, usage, config)
    assert repr(price_month(MONTH, stored, config)) == repr(old)
    new_document = json.dumps(to_date_document(config, MONTH, AS_OF, stored), separators=(",", ":"))
    assert new_document == json.dumps(_old_document(config, AS_OF, usage), separators=(",", ":"))


def test_a_run_added_at_once_is_each_group_added_in_turn():
    parts: list[list[int | Decimal]] = [[3, 1, 10, 0, 5] + [0] * 10, [2, 0, 7, 1, 0] + [0] * 10]
    parts[0][12] = Decimal("1.25")
    parts[1][12] = Decimal("0.5")
    one_by_one, at_once = LineUsage(), LineUsage()
    one_by_one.add_counts("sub-a", "gpt-x", date(2026, 10, 9), parts[1])
    one_by_one.add_counts("sub-a", "gpt-x", date(2026, 10, 3), parts[0])
    one_by_one.add_counts("sub-b", "", date(2026, 10, 12), parts[0])
    at_once.add_counts("sub-a", "gpt-x", date(2026, 10, 9), parts[1])
    at_once.add_run("sub-a", "gpt-x", date(2026, 10, 3), date(2026, 10, 3), parts[:1])
    at_once.add_run("sub-b", "", date(2026, 10, 12), date(2026, 10, 12), parts[:1])
    assert at_once.totals == one_by_one.totals
    assert at_once.totals.requests == 8 and at_once.totals.meters.audio_seconds == Decimal("3.00")
    assert (at_once.subscriptions, at_once.models) == ({"sub-a", "sub-b"}, {"gpt-x"})
    assert (at_once.first_day, at_once.last_day) == (date(2026, 10, 3), date(2026, 10, 12))
