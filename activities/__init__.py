"""Activity functions: each a thin wrapper over one step in chargeback.workflow (invoicing, notifying)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

import chargeback.workflow.notifying as notifications
from chargeback.wiring import services
from chargeback.workflow import budget_alerts, invoicing, month_to_date, mtd_refresh

from .names import (
    AGGREGATE_PARTITION,
    LIST_PARTITIONS,
    MTD_ALERTS,
    MTD_CHANGED_PARTITIONS,
    MTD_PRICE,
    MTD_REFRESH,
    MTD_REFRESH_PARTITION,
    NOTIFY_DEPARTMENT,
    PRICE_MONTH,
    RECORD_RUN,
    RENDER_INVOICE,
    RENDER_MONTH_DOCUMENTS,
)

bp = df.Blueprint()


def _activity(name: str) -> Callable[[Callable[..., Any]], Any]:
    """Register a function as the activity ``name``, its input given as ``request`` (every activity here)."""
    def register(function: Callable[..., Any]) -> Any:
        return bp.function_name(name)(bp.activity_trigger(input_name="request")(function))
    return register


@_activity(LIST_PARTITIONS)
def list_usage_partitions(request: dict) -> list:
    return invoicing.list_partitions(services().invoicing, request["month"])


@_activity(AGGREGATE_PARTITION)
def aggregate_usage_partition(request: dict) -> list:
    """A batch of partitions (orchestrations.monthly.spread), one part each; with ``refresh`` (partitions
    with the index ETag listed before the read), their month-to-date rollups are refreshed instead."""
    if "refresh" in request:
        return [month_to_date.refresh_partition_step(services().month_to_date, request["month"], r["partition"],
                                                     r["watermark"], r.get("previous"), r.get("base"),
                                                     r.get("since"))
                for r in request["refresh"]]
    return [invoicing.aggregate_partition_step(services().invoicing, request["month"], request["run_id"], p)
            for p in request["partitions"]]


@_activity(PRICE_MONTH)
def price_month(request: dict) -> dict:
    """Price merged parts, or (``from_rollups``) the month-to-date rollups: the month as of their refresh."""
    if request.get("from_rollups"):
        usage = services().month_to_date.rollups.month_usage(request["month"])
        return invoicing.price_usage_step(services().invoicing, request["month"], request["run_id"], usage)
    return invoicing.price_step(services().invoicing, request["month"], request["run_id"], request["parts"])


@_activity(RENDER_INVOICE)
def render_department_invoice(request: dict) -> list:
    """A batch of departments, one invoice each."""
    return invoicing.render_departments_step(services().invoicing, request["month"], request["run_id"],
                                             request["departments"], request["issue_date"])


@_activity(RENDER_MONTH_DOCUMENTS)
def render_month_documents(request: dict) -> dict:
    return invoicing.render_month_step(services().invoicing, request["month"], request["run_id"],
                                       request["issue_date"], request.get("invoice_numbers"))


@_activity(RECORD_RUN)
def record_invoicing_run(request: dict) -> dict:
    return invoicing.record_run_step(services().invoicing, request["month"], request["run_id"],
                                     request["invoices"], request["priced"], request["documents"],
                                     request["finished_at"])


@_activity(NOTIFY_DEPARTMENT)
def notify_department(request: dict) -> list:
    """A batch of invoices, one notice each."""
    return notifications.notify_departments_step(services().notifying, request["month"], request["run_id"],
                                                 request["invoices"], request.get("config_fingerprint"))


@_activity(MTD_REFRESH)
def mtd_refresh_to_date(request: dict) -> dict:
    """Refresh and price the month so far in one go, or (``changed``) list the partitions to fan out."""
    done = mtd_refresh.refresh_to_date_step(services().month_to_date, request["month"], request["as_of"])
    if "changed" in done:
        return done
    document = done["document"]
    return {"total": document["total"], "currency": document["currency"], "partitions": done["partitions"]}


@_activity(MTD_CHANGED_PARTITIONS)
def mtd_changed_partitions(request: dict) -> list:
    return month_to_date.changed_partitions(services().month_to_date, request["month"])


@_activity(MTD_REFRESH_PARTITION)
def mtd_refresh_partition(request: dict) -> dict:
    return month_to_date.refresh_partition_step(services().month_to_date, request["month"], request["partition"],
                                                request["watermark"], request.get("previous"), request.get("base"),
                                                request.get("since"))


@_activity(MTD_PRICE)
def mtd_price_to_date(request: dict) -> dict:
    document = month_to_date.price_to_date_step(services().month_to_date, request["month"], request["as_of"])
    return {"total": document["total"], "currency": document["currency"]}


@_activity(MTD_ALERTS)
def mtd_budget_alerts(request: dict) -> list:
    document = services().month_to_date.rollups.month_to_date(request["month"])
    return budget_alerts.alert_step(services().notifying, request["month"], document) if document else []
