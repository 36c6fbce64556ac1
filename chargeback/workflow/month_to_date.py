"""Month to date: keep each partition's aggregate current, price the month so far, alert on budgets.

The steps (each idempotent; the orchestrator calls them through activities):
``changed_partitions`` compares each usage partition's index ETag (it changes on every write there,
chargeback/storage/usage_table) with the ETag its rollup was read under; ``refresh_partition_step`` reads
only such a partition again, and there only the rows written since its last read (chargeback/storage/
usage_delta: a late event is added, a redelivered or replaced row makes it read the partition whole, so
every record counts exactly once), and stores its aggregate under the ETag listed *before* the read (rows
written during the read change the ETag again, so the next refresh reads them); ``price_to_date_step`` takes
the month's merged rollup (kept exact by adding what each partition's aggregate added to the one the
merged blob names, cumulated over refreshes so that blob is rewritten rarely, or by swapping aggregates,
chargeback/storage/rollup_store) and prices it with chargeback.billing.pricing.price_month, the month-end
run's code, then splits each line per deployment x meter x day (chargeback/billing/mtd_cells) and forecasts
(chargeback/billing/forecast).
No workbook, no invoice notice; budget alerts are chargeback/workflow/budget_alerts.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from chargeback.billing.forecast import forecast_total
from chargeback.billing.mtd_cells import DepartmentToDate, breakdown, month_to_date
from chargeback.billing.pricing import price_month
from chargeback.config.model import ChargebackConfig
from chargeback.errors import InvalidConfig
from chargeback.months import month_bounds
from chargeback.overlap import collector_held, together
from chargeback.storage.account import StorageAccount
from chargeback.storage.rollup_parts import Listing, PreparedPart, cumulative, prepared_part
from chargeback.storage.rollup_store import RollupStore
from chargeback.storage.usage_delta import PartitionReader
from chargeback.storage.usage_table import legacy_partition
from chargeback.usage.aggregation import MonthUsage
from chargeback.usage.reading import aggregate_partition
from chargeback.usage.record import UsageRecord
from chargeback.workflow.ports import ConfigSource


class WatermarkedUsage(Protocol):
    """Usage partitions with a watermark that changes whenever rows are written to one."""

    account: StorageAccount   # where the rows are, for the delta read (chargeback/storage/usage_delta)

    def watermarks(self, month: str) -> dict[str, str]: ...

    def partitions(self, month: str) -> list[str]: ...

    def read_partition(self, partition: str, columns: list[str] | None = None) -> Iterator[UsageRecord]: ...


@dataclass
class MonthToDateContext:
    usage: WatermarkedUsage
    rollups: RollupStore
    config: ConfigSource


def changed_partitions(ctx: MonthToDateContext, month: str) -> list[dict[str, Any]]:
    """The month's partitions written since their rollup was read (or never rolled up), with their ETag."""
    month_bounds(month)
    current, listing = together(lambda: ctx.usage.watermarks(month),
                                lambda: ctx.rollups.listing(month, deltas=False))
    return changes(current, listing)


def changes(current: dict[str, str], listing: Listing) -> list[dict[str, Any]]:
    """The partitions whose index ETag (``current``) is not the one their rollup row was read under."""
    rows = listing.rows
    changed = {p for p, mark in current.items() if (rows.get(p) or ("", ""))[0] != mark}
    # A legacy partition (first key scheme) reads minus its records rewritten under the current key
    # (storage.usage_legacy), so its content changes when a current partition does, though its own ETag
    # never moves: re-read it with them. Only months from before the key change have legacy partitions.
    if any(not legacy_partition(p) for p in changed):
        changed |= {p for p in current if legacy_partition(p)}
    # ``previous``: the stored aggregate's digest ("" for none), so the refresh need not look it up;
    # ``base``: the one the merged sum names ("" none, None not known), what the refresh's delta adds to;
    # ``since``: where its delta read starts (its aggregate's Counted.since; None: not on the row).
    bases = listing.bases
    return [{"partition": p, "watermark": current[p], "previous": (rows.get(p) or ("", ""))[1] or "",
             "base": None if bases is None else bases.get(p, ""), "since": listing.since.get(p)}
            for p in sorted(changed)]


@dataclass
class Refreshed:
    """A partition's aggregate read up to date and ready to store (``part``), the aggregate it supersedes
    (``superseded``: delete once ``part`` is stored, unless it is ``base``) and what the read did."""

    part: PreparedPart
    superseded: str | None
    base: str | None
    result: dict[str, Any]


def refresh_partition_step(ctx: MonthToDateContext, month: str, partition: str, watermark: str,
                           previous: str | None = None, base: str | None = None,
                           since: str | None = None) -> dict[str, Any]:
    """Bring one partition's aggregate up to date and store it under ``watermark`` (listed before this read):
    the rows written since its last read added to it (chargeback/storage/usage_delta), or, for a partition
    never read, a legacy one, or rows written again, the partition read whole. ``records``: rows read.
    ``previous``: the digest of its stored aggregate as ``changed_partitions`` listed it ("" none; None:
    look it up). Listed earlier, it may be older than the latest (another refresh ran meanwhile): the read
    then starts from that aggregate, itself exact, and the merged sum swaps aggregates (rollup_store).
    ``base``: the aggregate the merged sum names (as listed; None: not known, the stored one is taken). What
    the new aggregate adds to it is kept with it (rollup_parts.cumulative); the aggregate read from is
    deleted unless it is the base (nothing else names it once the row names the new one). ``since``: the
    stored aggregate's Counted.since as its row has it: the rows written since are fetched while the
    aggregate is (usage_delta.Fetched; used only if the aggregate says the same)."""
    if legacy_partition(partition):
        usage = aggregate_partition(ctx.usage, month, partition)
        digest = ctx.rollups.put_part(month, partition, watermark, usage)
        ctx.rollups.drop_superseded(month, partition, previous, base, digest)
        return {"partition": partition, "records": sum(t.requests for _, t in usage.groups()) + usage.outside_month,
                "read": "whole"}
    refreshed = refreshed_partition(ctx, month, partition, watermark, previous, base, since)
    store_refreshed(ctx, month, refreshed)
    return refreshed.result


def refreshed_partition(ctx: MonthToDateContext, month: str, partition: str, watermark: str,
                        previous: str | None = None, base: str | None = None,
                        since: str | None = None) -> Refreshed:
    """``refresh_partition_step`` up to the writes (a current-scheme partition)."""
    account = ctx.usage.account
    if previous and since:
        fetched, stored = together(   # the query's wait and the aggregate's overlap
            lambda: PartitionReader(account).fetch_since(partition, datetime.fromisoformat(since)),
            lambda: ctx.rollups.stored_part(month, partition, previous))
    else:
        stored, fetched = ctx.rollups.stored_part(month, partition, previous), None
    reader = PartitionReader(account)
    read = reader.read(month, partition) if stored is None else reader.read(month, partition, stored.usage,
                                                                             stored.counted, fetched)
    part = prepared_part(month, partition, watermark, read.usage, read.counted,
                         cumulative(stored, base, read.delta))
    return Refreshed(part, stored.digest if stored else previous, base,
                     {"partition": partition, "records": read.rows, "read": "whole" if read.delta is None else "since"})


def store_refreshed(ctx: MonthToDateContext, month: str, refreshed: Refreshed) -> None:
    ctx.rollups.store_part(refreshed.part)
    drop_superseded(ctx, month, refreshed)


def drop_superseded(ctx: MonthToDateContext, month: str, refreshed: Refreshed) -> None:
    """Once ``refreshed.part`` is stored: delete the aggregate it superseded (RollupStore.drop_superseded)."""
    row = refreshed.part.row
    ctx.rollups.drop_superseded(month, row["RowKey"], refreshed.superseded, refreshed.base, row["Digest"])


def config_in_force(config: ConfigSource) -> ChargebackConfig:
    fingerprint = config.current_fingerprint()
    found = config.get(fingerprint) if fingerprint else None
    if found is None:
        raise InvalidConfig(["no configuration imported: run `chargeback config import FILE` first"])
    return found


def price_to_date_step(ctx: MonthToDateContext, month: str, as_of: str) -> dict[str, Any]:
    """Price the month so far from the rollups; store and return the month-to-date document."""
    config, usage = together(lambda: config_in_force(ctx.config), lambda: ctx.rollups.month_usage(month))
    with collector_held():
        document = to_date_document(config, month, as_of, usage)
    ctx.rollups.put_month_to_date(month, document)
    return document


def to_date_document(config: ChargebackConfig, month: str, as_of: str, usage: MonthUsage) -> dict[str, Any]:
    """The month so far (``usage``) priced by ``config`` as of ``as_of`` (an ISO time), as JSON."""
    charges = price_month(month, usage, config)
    first_day, next_first_day = month_bounds(month)
    now = max(datetime.fromisoformat(as_of).date(), first_day)   # past the month's end: the month is over
    day = min(now, next_first_day - timedelta(days=1))
    todate = month_to_date(charges, usage, config, day)
    pools = frozenset(p.deployment for p in config.pools)
    departments, total = [], Decimal(0)
    for t in todate.values():
        totals = t.totals()
        departments.append(department_document(config, month, now, t, pools, totals))
        total += totals[2]
    return {"month": month, "as_of": as_of, "day": day.isoformat(), "currency": charges.currency,
            "config_fingerprint": charges.config_fingerprint, "markup_percent": str(charges.markup_percent),
            "total": str(total), "departments": departments, "warnings": list(charges.warnings)}


def department_document(config: ChargebackConfig, month: str, day: date, t: DepartmentToDate,
                        pools: frozenset[str],
                        totals: tuple[Decimal, Decimal, Decimal] | None = None) -> dict[str, Any]:
    """One department's month so far, as JSON: totals (``t.totals()`` if not given), budget, forecast, cells."""
    dept = config.department(t.department)
    budget = dept.budget if dept else None
    payg_daily = t.daily_cost(exclude_pools=True, pools=pools)
    forecast = forecast_total(payg_daily, month, day, t.pool_accrued + t.pool_to_accrue, t.markup_percent,
                              t.currency)
    subtotal, markup, total = t.totals() if totals is None else totals
    return {
        "department": t.department, "name": dept.name if dept else t.department,
        "subtotal": str(subtotal), "markup": str(markup), "total": str(total), "forecast": str(forecast),
        "budget": budget.to_dict() if budget else None,
        "cells": t.cell_rows()}


__all__ = ["breakdown", "changed_partitions", "price_to_date_step", "refresh_partition_step"]
