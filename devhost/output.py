"""Printing results: aligned text tables for people, JSON for machines (--json)."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from decimal import Decimal


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def table(headers: Sequence[str], rows: Sequence[Sequence], right: set[int] | None = None) -> str:
    """Rows under headers, columns padded; integers get thousands separators; ``right`` aligns columns."""
    cells = [[_cell(v) for v in row] for row in rows]
    right = right if right is not None else {i for i, v in enumerate(rows[0]) if _numeric(v)} if rows else set()
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))
    return "\n".join(l.rstrip() for l in [line([str(h) for h in headers]), line(["-" * w for w in widths]), *map(line, cells)])


def _numeric(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    return "" if value is None else str(value)
