"""The month's merged rollup brought up to date in memory from a listing of its rows, and what keeps it so.

``sum_listed`` is ``RollupStore.month_usage`` without its round trips: given the rows' listing and the
merged blob (however they were fetched: together, or beside other requests by a refresh that lists them
anyway, chargeback/workflow/mtd_refresh), it adds every delta whose base the blob names, swaps any other
changed partition's aggregate (reading the two documents), and says what is left to write: the blob again
(after a swap, or once the deltas exceed a quarter of its groups, rollup_store.REWRITE_SHARE), its part map
alone (a rewrite that stopped before its row), or nothing. The caller writes it when the aggregates the
listing names are stored, so the blob never names one that is not there yet. The rules and why they are
exact: chargeback/storage/rollup_store.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chargeback.storage.rollup_parts import Listing, Rows, groups_in, loads, part_blob
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_binary import decode_usage
from chargeback.usage.rollup_delta import RollupMismatch, add_groups, decode_groups, with_attribution


class RollupStore(Protocol):
    """What the sum reads and writes of chargeback/storage/rollup_store.RollupStore."""

    def document(self, month: str, partition: str, digest: str) -> dict[str, Any]: ...

    def put_merged(self, month: str, usage: MonthUsage, digests: dict[str, str],
                   attribution: dict[str, dict[str, Any]]) -> None: ...

    def put_bases(self, month: str, digests: dict[str, str]) -> None: ...

    def delete(self, name: str) -> None: ...


def _nothing() -> None:
    return None


@dataclass
class Summed:
    """The month's usage (None: an aggregate is missing or does not add up: merge every part again,
    RollupStore.rebuild) and the write that keeps the merged blob current (``write()``, maybe nothing)."""

    usage: MonthUsage | None
    write: Callable[[], None] = field(default=_nothing)


def sum_listed(store: RollupStore, month: str, listing: Listing, merged: dict[str, Any] | None,
               share: int, decoded: MonthUsage | None = None) -> Summed:
    """The merged sum plus what changed since, per ``listing``; rewritten when the deltas taken in exceed
    1/``share`` of its groups. ``decoded``: ``merged``'s groups already decoded (decode_groups; used up)."""
    rows = listing.rows
    if merged is None or any(digest is None for _watermark, digest in rows.values()):
        return Summed(None)
    digests: dict[str, str] = merged["parts"]
    attribution: dict[str, dict[str, Any]] = merged["attribution"]
    usage = decode_usage(merged["usage"]) if decoded is None else decoded
    changed = sorted(p for p in set(rows) | set(digests) if rows.get(p, ("", None))[1] != digests.get(p))
    swapped, grown = False, 0
    try:
        for partition in changed:
            previous = digests.get(partition)
            delta = listing.deltas.get(partition)
            if delta is not None and previous is not None and delta[0] == previous:
                document = loads(delta[1])
                grown += groups_in(document["usage"])
                add_groups(usage, decode_groups(document["usage"]))
                attribution[partition] = document["attribution"]
                continue
            _swap(store, usage, attribution, month, partition, previous, rows.get(partition))
            swapped = True
    except (RollupMismatch, FileNotFoundError):
        return Summed(None)
    write = _nothing
    if swapped or grown * share > groups_in(merged["usage"]):
        def write() -> None:
            _rewrite(store, month, usage, merged, rows, changed, attribution)
    elif listing.bases != digests:
        def write() -> None:
            store.put_bases(month, digests)   # a rewrite that stopped before its row: say what the sum names
    # The write encodes the groups only and writes ``attribution`` itself: merging that into ``usage``
    # before the write changes nothing it writes.
    return Summed(with_attribution(usage, [attribution[p] for p in sorted(attribution)]), write)


def _swap(store: RollupStore, usage: MonthUsage, attribution: dict[str, dict[str, Any]], month: str,
          partition: str, previous: str | None, current: tuple[str, str | None] | None) -> None:
    """Take the partition's previous aggregate out of the sum and put its current one in."""
    if previous is not None:
        add_groups(usage, decode_groups(store.document(month, partition, previous)["usage"]), -1)
        attribution.pop(partition, None)
    if current is not None and current[1] is not None:
        document = store.document(month, partition, current[1])
        add_groups(usage, decode_groups(document["usage"]))
        attribution[partition] = document["attribution"]


def _rewrite(store: RollupStore, month: str, usage: MonthUsage, merged: dict[str, Any], rows: Rows,
             changed: list[str], attribution: dict[str, dict[str, Any]]) -> None:
    """Write the sum as it is now, then its part map, then delete the aggregates it no longer names."""
    before: dict[str, str] = merged["parts"]
    digests = {p: digest for p, (_watermark, digest) in rows.items() if digest is not None}
    store.put_merged(month, usage, digests, attribution)
    for partition in changed:
        if partition in before and digests.get(partition) != before[partition]:
            store.delete(part_blob(month, partition, before[partition]))
