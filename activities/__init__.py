"""Activity functions: each a thin wrapper over one step in chargeback.workflow (invoicing, notifying)."""
from __future__ import annotations

import azure.durable_functions as df

import chargeback.workflow.notifying as notifications
from chargeback.wiring import services
from chargeback.workflow import budget_alerts, invoicing, month_to_date

from .names import (
    AGGREGATE_PARTITION,
    LIST_PARTITIONS,
    MTD_ALERTS,
    MTD_CHANGED_PARTITIONS,
    MTD_PRICE,
    MTD_REFRESH_PARTITION,
    NOTIFY_DEPARTMENT,
    PRICE_MONTH,
    RECORD_RUN,
    RENDER_INVOICE,
    RENDER_MONTH_DOCUMENTS,
)

bp = df.Blueprint()


@bp.function_name(LIST_PARTITIONS)
@bp.activity_trigger(input_name="request")
def list_usage_partitions(request: dict) -> list:
    return invoicing.list_partitions(services().invoicing, request["month"])


@bp.function_name(AGGREGATE_PARTITION)
@bp.activity_trigger(input_name="request")
def aggregate_usage_partition(request: dict) -> list:
    """A batch of partitions (orchestrations.monthly.spread), one part each; with ``refresh`` (partitions
    with the index ETag listed before the read), their month-to-date rollups are refreshed instead."""
    if "refresh" in request:
        return [month_to_date.refresh_partition_step(services().month_to_date, request["month"], r["partition"],
                                                     r["watermark"]) for r in request["refresh"]]
    return [invoicing.aggregate_partition_step(services().invoicing, request["month"], request["run_id"], p)
            for p in request["partitions"]]


@bp.function_name(PRICE_MONTH)
@bp.activity_trigger(input_name="request")
def price_month(request: dict) -> dict:
    """Price merged parts, or (``from_rollups``) the month-to-date rollups: the month as of their refresh."""
    if request.get("from_rollups"):
        usage = services().month_to_date.rollups.month_usage(request["month"])
        return invoicing.price_usage_step(services().invoicing, request["month"], request["run_id"], usage)
    return invoicing.price_step(services().invoicing, request["month"], request["run_id"], request["parts"])


@bp.function_name(RENDER_INVOICE)
@bp.activity_trigger(input_name="request")
def render_department_invoice(request: dict) -> list:
    """A batch of departments, one invoice each."""
    return [invoicing.render_department_step(services().invoicing, request["month"], request["run_id"],
                                             d, request["issue_date"]) for d in request["departments"]]


@bp.function_name(RENDER_MONTH_DOCUMENTS)
@bp.activity_trigger(input_name="request")
def render_month_documents(request: dict) -> dict:
    return invoicing.render_month_step(services().invoicing, request["month"], request["run_id"],
                                       request["issue_date"], request.get("invoice_numbers"))


@bp.function_name(RECORD_RUN)
@bp.activity_trigger(input_name="request")
def record_invoicing_run(request: dict) -> dict:
    return invoicing.record_run_step(services().invoicing, request["month"], request["run_id"],
                                     request["invoices"], request["priced"], request["documents"],
                                     request["finished_at"])


@bp.function_name(NOTIFY_DEPARTMENT)
@bp.activity_trigger(input_name="request")
def notify_department(request: dict) -> list:
    """A batch of invoices, one notice each."""
    return [notifications.notify_department_step(services().notifying, request["month"], request["run_id"], i)
            for i in request["invoices"]]


@bp.function_name(MTD_CHANGED_PARTITIONS)
@bp.activity_trigger(input_name="request")
def mtd_changed_partitions(request: dict) -> list:
    return month_to_date.changed_partitions(services().month_to_date, request["month"])


@bp.function_name(MTD_REFRESH_PARTITION)
@bp.activity_trigger(input_name="request")
def mtd_refresh_partition(request: dict) -> dict:
    return month_to_date.refresh_partition_step(services().month_to_date, request["month"], request["partition"],
                                                request["watermark"])


@bp.function_name(MTD_PRICE)
@bp.activity_trigger(input_name="request")
def mtd_price_to_date(request: dict) -> dict:
    document = month_to_date.price_to_date_step(services().month_to_date, request["month"], request["as_of"])
    return {"total": document["total"], "currency": document["currency"]}


@bp.function_name(MTD_ALERTS)
@bp.activity_trigger(input_name="request")
def mtd_budget_alerts(request: dict) -> list:
    document = services().month_to_date.rollups.month_to_date(request["month"])
    return budget_alerts.alert_step(services().notifying, request["month"], document) if document else []
