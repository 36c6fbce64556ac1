"""The month's merged rollup groups as packed integers: what every hourly refresh reads back whole.

``rollup_delta.encode_groups`` writes a group as a JSON row ``[*key, requests, unmetered, *meters]``; read back,
``json.loads`` parses ~15 numbers per group (a month of 20,000 events is ~3,900 groups, ~58,000 numbers) and
``decode_groups`` then walks the rows again: ~9-15 ms of CPU on every refresh, for a sum that changed in a few
groups. Here the same groups are one array of little-endian signed 64-bit integers, ``[key index, day,
requests, unmetered, *meters]`` per group, behind a small JSON header (the distinct keys without their day, and
the ``audio_seconds`` texts that are not "0", the one exact decimal among the counts): read back with
``array.frombytes`` and sliced. Same groups, same order (key order, as ``encode_groups`` sorts them: the pricing
of the month so far reads them in runs, chargeback/billing/mtd_index), same Decimals (the texts kept as
written, ``str(Decimal)``, so "0.0" stays "0.0").

A count that does not fit 64 bits (never a real month: 9.2e18 tokens) cannot be packed: ``pack_groups``
returns None and the caller keeps the JSON rows.
"""
from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_delta import _AUDIO, _WIDTH, decode_groups

MAGIC = b"CBG1"          # packed groups follow; a JSON document starts with "{"
_ZERO_AUDIO = "0"
_HEAD = 4                # bytes of the header's length, little-endian, after MAGIC


def pack_groups(usage: MonthUsage, extra: dict[str, Any]) -> bytes | None:
    """``MAGIC``, the header (``extra``'s keys, then the groups' month, ``outside_month``, keys, spilled keys,
    counts and audio texts) and the integers; None when a count does not fit 64 bits."""
    groups, spilled = usage.stored_groups()
    header: dict[str, Any] = {**extra, "month": usage.month, "outside_month": usage.outside_month}
    flat: list[Any] = []   # integers only: the audio seconds' place is 0, their texts go in the header
    tables: tuple[tuple[str, dict[Any, list[int | Decimal]]], ...] = (("groups", groups), ("spilled", spilled))
    for name, table in tables:
        keys: dict[tuple[str, ...], int] = {}
        audio: list[list[Any]] = []
        for at, (key, counts) in enumerate(sorted(table.items())):
            short = (key[0], key[1], key[2], *key[4:])   # the day is in the integers
            index = keys.get(short)
            if index is None:
                index = keys[short] = len(keys)
            text = str(counts[_AUDIO])
            if text != _ZERO_AUDIO:
                audio.append([at, text])
            flat += (index, key[3], *counts[:_AUDIO], 0, *counts[_AUDIO + 1:])
        header[name] = {"keys": [list(key) for key in keys], "count": len(table), "audio": audio}
    try:
        numbers = array("q", flat)
    except OverflowError:
        return None
    if sys.byteorder != "little":
        numbers.byteswap()
    head = msgspec.json.encode(header)   # as the rollup documents are (chargeback/storage/rollup_parts.dumps)
    return MAGIC + len(head).to_bytes(_HEAD, "little") + head + numbers.tobytes()


def is_packed(data: bytes) -> bool:
    return data[:len(MAGIC)] == MAGIC


def packed_header(data: bytes) -> tuple[dict[str, Any], memoryview]:
    """The header and the integers' bytes of ``pack_groups``'s output."""
    if not is_packed(data):
        raise ValueError("not packed rollup groups")
    start = len(MAGIC) + _HEAD
    length = int.from_bytes(data[len(MAGIC):start], "little")
    header: dict[str, Any] = msgspec.json.decode(data[start:start + length])
    return header, memoryview(data)[start + length:]


def packed_count(header: dict[str, Any]) -> int:
    """How many groups the header's payload holds (as ``rollup_parts.groups_in`` counts the JSON rows)."""
    return int(header["groups"]["count"]) + int(header["spilled"]["count"])


def unpack_groups(header: dict[str, Any], body: memoryview) -> MonthUsage:
    """The groups of ``pack_groups`` (no attribution): a MonthUsage as ``decode_groups`` gives it."""
    numbers = array("q")
    numbers.frombytes(body)
    if sys.byteorder != "little":
        numbers.byteswap()
    flat = numbers.tolist()
    step = 2 + _WIDTH
    groups, spilled = header["groups"], header["spilled"]
    if len(flat) != step * packed_count(header):
        raise ValueError(f"packed rollup groups: {len(flat)} integers for "
                         f"{int(groups['count'])} + {int(spilled['count'])} groups of {step}")
    usage = MonthUsage(header["month"])
    usage.outside_month = int(header["outside_month"])
    mine, theirs = usage.stored_groups()
    seconds: dict[str, Decimal] = {}
    at = _fill(mine, flat, 0, groups, step, seconds, False)
    _fill(theirs, flat, at, spilled, step, seconds, True)
    return usage


def _fill(table: dict[Any, list[int | Decimal]], flat: list[int], start: int, section: dict[str, Any],
          step: int, seconds: dict[str, Decimal], spilled: bool) -> int:
    """Add ``section``'s groups to ``table`` in order (their integers from ``start``; ``spilled``: keys
    (subscription, served deployment, model, called deployment), the day put back fourth); where the next
    section starts."""
    keys = [tuple(key) for key in section["keys"]]
    zero = seconds.setdefault(_ZERO_AUDIO, Decimal(_ZERO_AUDIO))
    stop = start + step * int(section["count"])
    # by columns, in C where it can be: each group's key index, its day, and its counts
    found = map(keys.__getitem__, flat[start:stop:step])
    days = flat[start + 1:stop:step]
    rows: list[list[Any]] = [flat[at:at + _WIDTH] for at in range(start + 2, stop, step)]
    for counts in rows:
        counts[_AUDIO] = zero
    if spilled:
        table.update(zip([(k[0], k[1], k[2], day, k[3]) for k, day in zip(found, days)], rows))   # noqa: B905
    else:
        table.update(zip([(k[0], k[1], k[2], day) for k, day in zip(found, days)], rows))   # noqa: B905
    for at, text in section["audio"]:
        known = seconds.get(text)
        rows[at][_AUDIO] = seconds.setdefault(text, Decimal(text)) if known is None else known
    return stop


@dataclass(frozen=True)
class PackedGroups:
    """A packed payload read back, decoded only when asked (``decode_usage``); ``len``: its groups."""

    header: dict[str, Any]
    body: memoryview

    def __len__(self) -> int:
        return packed_count(self.header)


def decode_usage(encoded: PackedGroups | dict[str, Any]) -> MonthUsage:
    """The groups of either encoding: packed here, or JSON rows (``rollup_delta.encode_groups``)."""
    if isinstance(encoded, PackedGroups):
        return unpack_groups(encoded.header, encoded.body)
    return decode_groups(encoded)
