"""Billing months as ``YYYY-MM`` text."""
from __future__ import annotations

import re
from datetime import datetime

from chargeback.errors import InvalidMonth

_MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def parse_month(text: str) -> str:
    """The month unchanged if it is ``YYYY-MM`` (2000-2999), else InvalidMonth naming it."""
    if not isinstance(text, str) or not _MONTH_RE.fullmatch(text) or not 2000 <= int(text[:4]) <= 2999:
        raise InvalidMonth(f"month must be YYYY-MM, got {str(text)[:20]!r}")
    return text


def previous_month(now: datetime) -> str:
    """The month before ``now``'s (what the timer on the 1st invoices)."""
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return f"{year:04d}-{month:02d}"


def instance_id(month: str) -> str:
    """The Durable instance id of a month's run: one at a time per month."""
    return f"invoice-{parse_month(month)}"
