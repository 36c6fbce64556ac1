"""Timestamps on the wire: .NET culture-formatted (v1) and ISO-8601 (v2), always to aware UTC."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from chargeback.errors import InvalidEvent

# DateTime.UtcNow.ToString() as the seed's policy formats it: en-US ("10/7/2026 3:15:00 PM")
# or the invariant culture ("10/25/2026 11:00:00"). Day-first cultures are refused rather than
# guessed: 3/4 would silently bill the wrong month.
_DOTNET_RE = re.compile(
    r"^\s*(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(?: ?([AaPp][Mm]))?\s*$"
)
_V1_HINT = "expected M/d/yyyy h:mm:ss AM|PM or M/d/yyyy HH:mm:ss (.NET en-US or invariant) or ISO-8601"


def parse_v1_timestamp(value: object) -> datetime:
    """A v1 timestamp (.NET en-US/invariant text, or ISO-8601) as aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent("timestamp is missing")
    m = _DOTNET_RE.match(value)
    if not m:
        if value[:4].isdigit():
            return parse_v2_timestamp(value)
        raise InvalidEvent(f"unparseable timestamp {value[:40]!r}: {_V1_HINT}")
    month, day, year, hour, minute, second, fraction, ampm = m.groups()
    hour_n = int(hour)
    if ampm:
        if not 1 <= hour_n <= 12:
            raise InvalidEvent(f"unparseable timestamp {value[:40]!r}: hour {hour_n} with {ampm}")
        hour_n = hour_n % 12 + (12 if ampm.upper() == "PM" else 0)
    micro = int((fraction or "0").ljust(7, "0")[:6])
    try:
        return datetime(int(year), int(month), int(day), hour_n, int(minute), int(second), micro,
                        tzinfo=UTC)
    except ValueError as exc:
        raise InvalidEvent(f"unparseable timestamp {value[:40]!r}: {exc}") from None


def parse_v2_timestamp(value: object) -> datetime:
    """An ISO-8601 timestamp as aware UTC; one without an offset is taken as UTC."""
    if value.__class__ is str and len(value) == 24 and value[23] == "Z":
        # The policy's own "2026-10-03T14:05:09.123Z": Python 3.11's fromisoformat reads it as it is.
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            pass   # the general path below names the problem
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent("timestamp is missing")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _trim_fraction(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"unparseable timestamp {value[:40]!r}: expected ISO-8601") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


def _trim_fraction(text: str) -> str:
    # .NET writes 7 fractional digits ("o" format); Python keeps 6.
    return _FRACTION_RE.sub(r"\1", text, count=1)
