"""Billing months as ``YYYY-MM`` text: the one parser and the one accepted range (ingest, CLI, invoicing)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

from chargeback.errors import InvalidMonth

_MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
# The one month-name table (English whatever the process locale, so documents are stable).
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")

# The one invoiceable range: the months ``run-month`` accepts and the timestamps ingest stores
# (a record outside it could be stored but never invoiced). Inside Edm.DateTime's 1601-9999 too.
FIRST_YEAR = 2000
LAST_YEAR = 2999
INVOICEABLE_FROM = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
INVOICEABLE_UNTIL = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)   # exclusive


def invoiceable(moment: datetime) -> bool:
    """Whether an aware timestamp falls in a month ``parse_month`` accepts."""
    return INVOICEABLE_FROM <= moment < INVOICEABLE_UNTIL


def parse_month(text: str) -> str:
    """The month unchanged if it is ``YYYY-MM`` (2000-2999), else InvalidMonth naming it."""
    if not isinstance(text, str) or not _MONTH_RE.fullmatch(text) or not FIRST_YEAR <= int(text[:4]) <= LAST_YEAR:
        raise InvalidMonth(f"month must be YYYY-MM from {FIRST_YEAR}-01 to {LAST_YEAR}-12, got {str(text)[:20]!r}")
    return text


def year_and_month(text: str) -> tuple[int, int]:
    """The year and month number of a ``parse_month``-valid month."""
    month = parse_month(text)
    return int(month[:4]), int(month[5:])


def month_bounds(text: str) -> tuple[date, date]:
    """The first day of the month and the first day of the next; InvalidMonth as ``parse_month``."""
    year, number = year_and_month(text)
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date(year, number, 1), following


def previous_month(now: datetime) -> str:
    """The month before ``now``'s (what the timer on the 1st invoices)."""
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return f"{year:04d}-{month:02d}"


def instance_id(month: str) -> str:
    """The Durable instance id of a month's run: one at a time per month."""
    return f"invoice-{parse_month(month)}"
