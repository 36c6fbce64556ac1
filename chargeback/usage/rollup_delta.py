"""Exact arithmetic on MonthUsage for the month-to-date merged rollup, and the compact JSON it is kept in.

A merged rollup stays the sum of the partitions' aggregates by subtracting a partition's previous aggregate
and adding its new one. The line groups are request counts and meter quantities: integers and exact
decimals (``audio_seconds``), summed in a 60-digit context, so ``(S - old) + new`` is exactly what a full
merge of the parts computes in any order. A group whose request count falls to 0 is dropped: a full merge
never has one (every group counts at least one request). Attribution is bounded per subscription (labels
past MAX_LABELS go to OTHERS in merge order, chargeback/usage/attribution_rollup), so it is not subtracted:
it is kept per partition, in MonthUsage.to_dict's own shape, and merged in partition order, as
``RollupStore``'s full merge does.
"""
from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from chargeback.usage import attribution_lines, attribution_rollup
from chargeback.usage.aggregation import COLUMNS, MonthUsage
from chargeback.usage.meters import FIELDS

FORMAT = 2
_WIDTH = 2 + len(FIELDS)                      # requests, unmetered, then each meter in FIELDS order
_AUDIO = 2 + FIELDS.index("audio_seconds")    # the one exact decimal among the counts
_GROUP_KEY, _SPILLED_KEY = 4, 5               # (subscription, deployment, model, day[, spilled from])
_SHAPE_KEYS = {"month", "outside_month", "columns", "groups", "spilled_columns", "spilled"}


class RollupMismatch(ValueError):
    """Subtracting an aggregate the total does not contain: the merged rollup must be rebuilt."""


def encode_groups(usage: MonthUsage) -> dict[str, Any]:
    """The line groups and ``outside_month`` as compact rows ``[*key, requests, unmetered, *meters]``."""
    return {"month": usage.month, "outside_month": usage.outside_month,
            "groups": [[*key, *_encoded(counts)] for key, counts in sorted(usage._groups.items())],
            "spilled": [[*key, *_encoded(counts)] for key, counts in sorted(usage._spilled.items())]}


def decode_groups(data: dict[str, Any]) -> MonthUsage:
    """Inverse of ``encode_groups`` (no attribution)."""
    usage = MonthUsage(data["month"])
    usage.outside_month = int(data["outside_month"])
    seconds: dict[str, Decimal] = {}   # audio seconds as text -> the Decimal (immutable: one per text)
    groups, spilled = usage.stored_groups()
    for row in data["groups"]:   # _decoded, written out: once per group
        key, counts = (row[0], row[1], row[2], int(row[3])), row[_GROUP_KEY:]
        if len(counts) != _WIDTH:
            raise ValueError(f"expected {_WIDTH} counts, got {len(counts)}")
        text = counts[_AUDIO]
        found = seconds.get(text)
        counts[_AUDIO] = seconds.setdefault(text, Decimal(text)) if found is None else found
        groups[key] = counts
    for row in data["spilled"]:
        spilled[(row[0], row[1], row[2], int(row[3]), row[4])] = _decoded(row, _SPILLED_KEY, seconds)
    return usage


def attribution_of(usage: MonthUsage) -> dict[str, Any]:
    """The attribution alone, in MonthUsage.to_dict's shape (whatever keys that shape gives it)."""
    shell = MonthUsage(usage.month)
    shell.attribution = usage.attribution
    return {key: value for key, value in shell.to_dict().items() if key not in _SHAPE_KEYS}


def with_attribution(usage: MonthUsage, parts: list[dict[str, Any]]) -> MonthUsage:
    """``usage`` with each part's attribution (``attribution_of``) merged in, in the order given."""
    for part in parts:
        if part:
            shell = MonthUsage.from_dict({"month": usage.month, "columns": list(COLUMNS), "groups": [], **part})
            usage.attribution.merge(shell.attribution)
    return usage


def bounded(usage: MonthUsage) -> bool:
    """No subscription has reached a label bound of its attribution, so no label was folded into OTHERS:
    then merging attribution does not depend on the order of the calls, and an aggregate plus the rows
    added since equals the partition read whole (chargeback/storage/usage_delta)."""
    rollup = usage.attribution
    return (all(kept < attribution_rollup.MAX_LABELS for kept in rollup._labels.values())
            and all(len(kept) < attribution_lines.MAX_LABELS for kept in rollup.lines._labels.values()))


def add_groups(total: MonthUsage, part: MonthUsage, sign: int = 1) -> None:
    """``total += sign * part`` over the line groups and ``outside_month`` (attribution untouched)."""
    if part.month != total.month:
        raise ValueError(f"cannot combine usage of {part.month} with {total.month}")
    with localcontext() as ctx:
        ctx.prec = 60
        _combine(total._groups, part._groups, sign)
        _combine(total._spilled, part._spilled, sign)
    total.outside_month += sign * part.outside_month
    if total.outside_month < 0:
        raise RollupMismatch("outside_month below zero")


def _combine(total: dict[Any, list[int | Decimal]], part: dict[Any, list[int | Decimal]], sign: int) -> None:
    for key, counts in part.items():
        mine = total.get(key)
        if mine is None:
            if sign < 0:
                raise RollupMismatch(f"no group {key!r} to subtract")
            mine = total[key] = [0] * _WIDTH
            mine[_AUDIO] = Decimal(0)
        for index, count in enumerate(counts):
            mine[index] += sign * count
        if any(count < 0 for count in mine):
            raise RollupMismatch(f"group {key!r} below zero")
        if not mine[0]:
            if any(mine):
                raise RollupMismatch(f"group {key!r} has quantities but no request")
            del total[key]


def _encoded(counts: list[int | Decimal]) -> list[int | Decimal | str]:
    out: list[int | Decimal | str] = list(counts)
    out[_AUDIO] = str(out[_AUDIO])   # exact decimal as text; the other counts are int
    return out


def _decoded(row: list[Any], at: int, seconds: dict[str, Decimal]) -> list[int | Decimal]:
    """The counts of ``row`` from ``at`` on: JSON gives the integer counts back as ``int``; only
    ``audio_seconds`` needs converting (``seconds``: the texts converted so far)."""
    counts: list[Any] = row[at:]
    if len(counts) != _WIDTH:
        raise ValueError(f"expected {_WIDTH} counts, got {len(counts)}")
    text = counts[_AUDIO]
    found = seconds.get(text)
    counts[_AUDIO] = seconds.setdefault(text, Decimal(text)) if found is None else found
    return counts
