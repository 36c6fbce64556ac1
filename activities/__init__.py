"""Activity functions: each a thin wrapper over one step in chargeback.workflow (invoicing, notifying)."""
from __future__ import annotations

import azure.durable_functions as df

import chargeback.workflow.notifying as notifications
from chargeback.wiring import services
from chargeback.workflow import invoicing

from .names import (
    AGGREGATE_PARTITION,
    LIST_PARTITIONS,
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
def aggregate_usage_partition(request: dict) -> dict:
    return invoicing.aggregate_partition_step(services().invoicing, request["month"], request["run_id"],
                                              request["partition"])


@bp.function_name(PRICE_MONTH)
@bp.activity_trigger(input_name="request")
def price_month(request: dict) -> dict:
    return invoicing.price_step(services().invoicing, request["month"], request["run_id"], request["parts"])


@bp.function_name(RENDER_INVOICE)
@bp.activity_trigger(input_name="request")
def render_department_invoice(request: dict) -> dict:
    return invoicing.render_department_step(services().invoicing, request["month"], request["run_id"],
                                            request["department"], request["issue_date"])


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
def notify_department(request: dict) -> dict:
    return notifications.notify_department_step(services().notifying, request["month"], request["run_id"],
                                                request["invoice"])
