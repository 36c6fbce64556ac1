"""Readers for config fields: each checks one value and records a ``path: problem`` when it is wrong."""
from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email

T = TypeVar("T")
MISSING = object()   # the key is absent: "required" is reported once, by check_keys
# No rate, cost or weight comes near a trillion; past it a figure is a typo (or 1e999999999).
MAX_AMOUNT = Decimal(10) ** 12
MAX_DECIMALS = 18
# Characters that break a line or a header somewhere (mail, CSV, logs) or reorder text on screen:
# C0/C1 controls (U+0085 included), line and paragraph separators, bidirectional controls, surrogates.
_LOOKS_LIKE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")   # the shape; email-validator judges the rest
# An Entra object id as the ``groups`` claim carries it: a GUID in 8-4-4-4-12 hex digits.
GROUP_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Problems(list[str]):
    """Every problem found so far, as ``path: problem`` lines."""

    def add(self, path: str, problem: str) -> None:
        self.append(f"{path}: {problem}")


def items(p: Problems, path: str, raw: object,
          build: Callable[[Problems, str, dict[str, Any]], T | None]) -> list[T | None]:
    """A list of mappings, each built by ``build(p, path, item)``; None stands for a refused item."""
    if raw is MISSING:
        return []
    if not isinstance(raw, list):
        p.add(path, f"must be a list, got {kind(raw)}")
        return []
    out: list[T | None] = []
    for index, item in enumerate(raw):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            p.add(here, f"must be a mapping, got {kind(item)}")
            out.append(None)
        else:
            out.append(build(p, here, item))
    return out


def check_keys(p: Problems, path: str, raw: dict[str, Any], known: tuple[str, ...], required: tuple[str, ...]) -> None:
    """Unknown keys (with the closest known one: typos are the usual cause), repeated and missing keys."""
    prefix = f"{path}." if path else ""
    suggested = set()
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else f" (known keys: {', '.join(known)})"
            p.add(f"{prefix}{key}", f"unknown key{hint}")
            suggested.update(close)
    for key in getattr(raw, "duplicates", ()):
        p.add(f"{prefix}{key}", "is given twice in the same mapping")
    for key in required:
        if key not in raw and key not in suggested:   # a typo of it was already reported
            p.add(f"{prefix}{key}", "required")


def amount(p: Problems, path: str, raw: object, maximum: Decimal = MAX_AMOUNT) -> Decimal | None:
    """A rate, cost, weight or percentage: a finite Decimal from 0 to ``maximum``, kept exactly as written."""
    if raw is MISSING:
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            value = None
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(raw)
    if not isinstance(value, Decimal) or not value.is_finite():
        p.add(path, f"must be a number, got {show(raw)}")
        return None
    if value < 0:
        p.add(path, f"must not be negative, got {show(value)}")
        return None
    if value > maximum:
        p.add(path, f"must be at most {maximum:,}, got {show(value)}")
        return None
    if -value.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]  # finite: exponent is an int
        p.add(path, f"has more than {MAX_DECIMALS} decimal places, got {show(value)}")
        return None
    return value


def day(p: Problems, path: str, raw: object) -> date | None:
    if raw is MISSING:
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        p.add(path, f"must be a date written YYYY-MM-DD, got {show(raw)}")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        p.add(path, f"{raw} is not a real date")
        return None


def text(p: Problems, path: str, raw: object, allow_empty: bool = False) -> str | None:
    if raw is MISSING:
        return None
    if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
        p.add(path, f"must be text, got the number {show(raw)}; put it in quotes to keep it as written")
        return None
    if not isinstance(raw, str) or (not allow_empty and not raw.strip()):
        p.add(path, f"must be {'text' if allow_empty else 'non-empty text'}, got {show(raw)}")
        return None
    bad = unsafe_character(raw.strip())
    if bad:
        p.add(path, f"contains {bad}, which would break a line in notices and exports; remove it")
        return None
    return raw.strip()


def unsafe_character(value: str) -> str:
    """The first control, line-breaking or bidirectional character in ``value``, named; "" if none."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs") or char in _BIDI_CONTROLS:
            return f"U+{ord(char):04X} ({unicodedata.name(char, category)})"
    return ""


def emails(p: Problems, path: str, raw: object) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        p.add(path, f"must be a list of email addresses, e.g. [alice@contoso.com], got {kind(raw)}")
        return []
    return [v for i, value in enumerate(raw) if (v := _email(p, f"{path}[{i}]", value)) is not None]


def members(p: Problems, path: str, raw: object) -> list[str]:
    """Owners or viewers: email addresses, or Entra group object ids (GUIDs, kept lower case)."""
    if not isinstance(raw, list):
        return emails(p, path, raw)
    out = []
    for index, value in enumerate(raw):
        if isinstance(value, str) and GROUP_ID.fullmatch(value.strip()):
            out.append(value.strip().lower())
        elif (address := _email(p, f"{path}[{index}]", value)) is not None:
            out.append(address)
    return out


def _email(p: Problems, here: str, value: object) -> str | None:
    problem = email_problem(value)
    if problem and not (isinstance(value, str) and _LOOKS_LIKE_EMAIL.fullmatch(value.strip())):
        p.add(here, f"{show(value)} is not an email address")
    elif problem:
        p.add(here, f"{show(value)} is not exactly one email address: {problem}")
    else:
        return str(value).strip()
    return None


def email_problem(value: object) -> str:
    """Why ``value`` is not exactly one address (no list, display name or quoting); "" if it is one."""
    if not isinstance(value, str) or not value.strip():
        return "expected text like alice@contoso.com"
    try:   # syntax only: a config import must not depend on DNS
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    return ""


def kind(value: object) -> str:
    """What a person would call the value they wrote: "a list", "text" ..."""
    kinds = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "nothing (null)"}
    for cls, name in kinds.items():
        if isinstance(value, cls):
            return name
    return show(value)


def show(value: object) -> str:
    """A value as it would read in the file, shortened."""
    if isinstance(value, Decimal):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return kind(value)
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 60 else shown[:57] + '..."'
