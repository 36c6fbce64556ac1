"""The hourly month-to-date refresh in one step, its round trips overlapped.

An hour's usage lands in one or two partitions (chargeback/storage/usage_table: a partition is a slice of
the month's hours), so the hourly refresh is a few partitions read since their last read and the month
priced again. Run as three activities (``changed_partitions``, ``refresh_partition_step`` per partition,
``price_to_date_step``), it lists the rollup rows twice and waits for every request in turn; here, in one,
the partition index, the rollup rows (with their deltas), the merged sum and the configuration are asked
for at once; each changed partition's new rows are fetched while its stored aggregate is; the aggregates
are stored, then the month is summed in memory (the merged sum plus the deltas just computed: exactly what
``RollupStore.month_usage`` would read back) and priced; the month-to-date document is written beside
whatever keeps the merged sum current. More than ``FEW`` changed partitions (the month's first
refresh, a backlog, late usage across the month) or a legacy one: nothing is read, the changed partitions
are returned, and the orchestrator fans them out as before (orchestrations/month_to_date).

Ordering kept from the three steps: a part's blob before its row (store_part); the merged sum is written
only once the aggregates it names are stored; a delta the merged sum cannot take in (a partition read
whole, a delta too big for its row, a base it does not name) makes the sum read the stored aggregates.
The document is written after the store, so a failed store leaves the previous document
(tests/integration/test_mtd_fused_paths.py). The aggregates the stored ones superseded are deleted beside
the last writes, not as a round trip of their own before the pricing (against Azurite, 20,000 events,
half of 1% new each time: 178 against 168 ms, median of 12 refreshes each, alternating), and, should
a later store or the pricing fail, before its error is raised: nothing superseded is left behind.

Why the store is not overlapped with the pricing (it was, until 2026-12-02): both need the GIL, the
pricing for ~30 ms of CPU and the store's requests for ~1.5 ms each of azure-core and requests code
between short waits. Run together, each of the store's many GIL handovers waits behind the pricing, and
the pricing is interrupted as often: against Azurite the step took 110 ms against 94 ms stored first
(median of 12 refreshes each, alternating, 20,000 events, devhost.bench_mtd's month). Against Table
Storage, whose requests wait longer, the overlap could hide at most the store's waits (two round trips);
stored first, the rule that a failed store leaves the previous document also needs no second path.
"""
from __future__ import annotations

from typing import Any

from chargeback.months import month_bounds
from chargeback.overlap import at_once, collector_held, together
from chargeback.storage.rollup_parts import Listing
from chargeback.storage.rollup_store import REWRITE_SHARE
from chargeback.storage.rollup_sum import sum_listed
from chargeback.storage.usage_table import legacy_partition
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.rollup_binary import decode_usage
from chargeback.workflow.month_to_date import (
    MonthToDateContext,
    Refreshed,
    changes,
    config_in_force,
    drop_superseded,
    refreshed_partition,
    to_date_document,
)

FEW = 4   # changed partitions refreshed within the one step; more are fanned out to activities


def refresh_to_date_step(ctx: MonthToDateContext, month: str, as_of: str, few: int = FEW) -> dict[str, Any]:
    """Refresh and price the month so far in one go: ``{"document", "partitions"}`` (the month-to-date
    document, stored, and what each partition's read did), or, with more than ``few`` changed partitions
    or a legacy one, ``{"changed": [...]}`` (as ``changed_partitions`` lists them) and nothing done."""
    month_bounds(month)
    with collector_held():
        return _refresh(ctx, month, as_of, few)


def _refresh(ctx: MonthToDateContext, month: str, as_of: str, few: int) -> dict[str, Any]:
    # In other threads the listing and then at once the changed partitions' reads (their requests go out as
    # soon as the listing says which), and the configuration; here meanwhile the merged sum, read and decoded.
    (listing, changed, done), config, (merged, decoded) = at_once(
        lambda: _listed(ctx, month, few), lambda: config_in_force(ctx.config),
        lambda: _decoded(ctx.rollups.merged(month)))
    if done is None:
        return {"changed": changed}
    refreshed: list[Refreshed] = done
    for one in refreshed:
        listing.with_part(one.part)
    stored: list[Refreshed] = []

    def dropped() -> None:   # what the stored aggregates superseded, deleted with the last writes
        for one in stored:
            drop_superseded(ctx, month, one)

    try:
        for one in refreshed:   # stored first, then priced: see the module's docstring
            ctx.rollups.store_part(one.part)
            stored.append(one)
        summed = sum_listed(ctx.rollups, month, listing, merged, REWRITE_SHARE, decoded)
        # No sum (an aggregate missing or not adding up): every part merged again, and written, by brought_up;
        # summed.write is then nothing.
        usage = ctx.rollups.brought_up(month, listing, summed) if summed.usage is None else summed.usage
        document = to_date_document(config, month, as_of, usage)
    except BaseException:
        dropped()   # those stored superseded theirs, whatever failed after
        raise
    at_once(summed.write, dropped, lambda: ctx.rollups.put_month_to_date(month, document))
    return {"document": document, "partitions": [one.result for one in refreshed]}


def _listed(ctx: MonthToDateContext, month: str,
            few: int) -> tuple[Listing, list[dict[str, Any]], list[Refreshed] | None]:
    """The rollup rows, the partitions changed since, and those read up to date (None: more than ``few``
    or a legacy one, left to the fan-out)."""
    current, listing = together(lambda: ctx.usage.watermarks(month), lambda: ctx.rollups.listing(month))
    changed = changes(current, listing)
    if len(changed) > few or any(legacy_partition(part["partition"]) for part in changed):
        return listing, changed, None
    return listing, changed, list(at_once(
        *((lambda part=part: refreshed_partition(ctx, month, **part)) for part in changed)))


def _decoded(merged: dict[str, Any] | None) -> tuple[dict[str, Any] | None, MonthUsage | None]:
    return merged, None if merged is None else decode_usage(merged["usage"])
