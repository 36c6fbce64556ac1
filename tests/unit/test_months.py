from datetime import UTC, datetime

import pytest

from chargeback.errors import InvalidMonth
from chargeback.months import instance_id, parse_month, previous_month


@pytest.mark.parametrize("now, expected", [
    (datetime(2027, 1, 1, 2, 0, tzinfo=UTC), "2026-12"),   # across the year boundary
    (datetime(2026, 3, 1, 2, 0, tzinfo=UTC), "2026-02"),
    (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2026-11"),
])
def test_previous_month(now, expected):
    assert previous_month(now) == expected


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-10", "2026-10-01", "../2026-10", "", None,
                                 "2026-10\n", "1999-12"])
def test_bad_months_are_refused(bad):
    with pytest.raises(InvalidMonth):
        parse_month(bad)


def test_instance_id_is_one_per_month():
    assert instance_id("2026-10") == "invoice-2026-10"
