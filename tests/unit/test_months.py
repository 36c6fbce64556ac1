from datetime import UTC, date, datetime

import pytest

from chargeback.errors import InvalidMonth
from chargeback.months import (
    INVOICEABLE_FROM,
    INVOICEABLE_UNTIL,
    instance_id,
    invoiceable,
    month_bounds,
    parse_month,
    previous_month,
    year_and_month,
)
from chargeback.usage.aggregation import MonthUsage
from devhost.generate.month import MonthOfEvents


@pytest.mark.parametrize(("now", "expected"), [
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


# ---- one parser and one range for ingest, CLI and invoicing (issue 10)

def test_month_bounds_are_the_first_days_of_the_month_and_the_next():
    assert month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 3, 1))
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert month_bounds("2000-01") == (date(2000, 1, 1), date(2000, 2, 1))
    assert month_bounds("2999-12") == (date(2999, 12, 1), date(3000, 1, 1))


@pytest.mark.parametrize("bad", ["1999-12", "3000-01", "0000-01", "2026-13", "2026-1", None, "2026-10\n"])
def test_every_entry_point_refuses_a_month_the_same_way(bad):
    """``chargeback usage`` (month_bounds), ``invoices list`` (parse_month), aggregation and the generator
    all go through parse_month: the same refusal, word for word."""
    with pytest.raises(InvalidMonth) as by_parser:
        parse_month(bad)
    for entry in (month_bounds, year_and_month, MonthUsage, lambda m: MonthOfEvents(m, events=0)):
        with pytest.raises(InvalidMonth) as refused:
            entry(bad)
        assert str(refused.value) == str(by_parser.value)
    assert "2000-01 to 2999-12" in str(by_parser.value)


def test_the_invoiceable_range_is_exactly_the_accepted_months():
    assert datetime(2000, 1, 1, tzinfo=UTC) == INVOICEABLE_FROM
    assert datetime(3000, 1, 1, tzinfo=UTC) == INVOICEABLE_UNTIL
    assert invoiceable(datetime(2000, 1, 1, tzinfo=UTC)) and not invoiceable(datetime(1999, 12, 31, 23, 59, tzinfo=UTC))
    assert invoiceable(datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert not invoiceable(datetime(3000, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("argv", [["usage", "1999-12"], ["invoices", "list", "1999-12"], ["run-month", "1999-12"],
                                  ["generate", "--month", "1999-12", "-o", "unused.jsonl"]])
def test_the_command_line_refuses_1999_12_alike_before_touching_storage(argv, capsys, monkeypatch):
    from devhost.cli import main
    for setting in ("CHARGEBACK_STORAGE", "AzureWebJobsStorage", "CHARGEBACK_TABLE_ENDPOINT"):
        monkeypatch.delenv(setting, raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("month must be YYYY-MM from 2000-01 to 2999-12, got '1999-12'"), err
