"""The monthly invoicing orchestrator: deterministic, only context.* calls, all I/O in activities."""
from __future__ import annotations

import azure.durable_functions as df

from activities.names import (
    AGGREGATE_PARTITION,
    MTD_CHANGED_PARTITIONS,
    NOTIFY_DEPARTMENT,
    PRICE_MONTH,
    RECORD_RUN,
    RENDER_INVOICE,
    RENDER_MONTH_DOCUMENTS,
)
from chargeback.workflow.notifying import summarize_notices
from orchestrations.names import MONTHLY_INVOICING

bp = df.Blueprint()

# At most this many activities per fan-out, each given a batch of partitions or departments: history and
# replay grow with this, not with the month's partitions or departments (the SDK replays the whole
# history every episode, so an unbounded fan-out costs the square of its size).
FAN_OUT = 16
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=4)
NOTICE_FIELDS = ("department", "name", "total", "currency", "version", "revision", "changed", "invoice_number")


def spread(items: list, most: int = FAN_OUT) -> list[list]:
    """``items`` in at most ``most`` contiguous batches of near-equal size (none empty)."""
    count = min(most, len(items))
    return [items[i * len(items) // count:(i + 1) * len(items) // count] for i in range(count)]


def _flat(batches: list[list] | None) -> list:
    return [item for batch in batches or [] for item in batch]


def _status(context: df.DurableOrchestrationContext, stage: str, **progress) -> None:
    context.set_custom_status({"stage": stage, **progress})


@bp.function_name(MONTHLY_INVOICING)
@bp.orchestration_trigger(context_name="context")
def monthly_invoicing(context: df.DurableOrchestrationContext):
    """Partitions changed since their rollup -> refresh those -> price the rollups -> render per department
    -> month documents -> record -> notify per department (each fan-out at most FAN_OUT activities)."""
    month = (context.get_input() or {})["month"]
    started = context.current_utc_datetime
    run_id = f"{started:%Y%m%dT%H%M%S%f}Z"  # microseconds: back-to-back reruns never share an id
    issue_date = started.date().isoformat()

    # Month-end from the month-to-date rollups: only partitions written since their last refresh (index ETag
    # watermark, chargeback/workflow/month_to_date) are read again; the month is priced from the rollups.
    _status(context, "listing partitions")
    changed = yield context.call_activity_with_retry(MTD_CHANGED_PARTITIONS, RETRY, {"month": month})
    _status(context, "aggregating", partitions_done=0, partitions_total=len(changed))
    refreshing = [context.call_activity_with_retry(AGGREGATE_PARTITION, RETRY, {"month": month, "run_id": run_id,
                                                                                "refresh": batch})
                  for batch in spread(changed)]
    parts = _flat((yield context.task_all(refreshing))) if refreshing else []   # unchanged month: nothing to read
    _status(context, "aggregating", partitions_done=len(parts), partitions_total=len(changed))

    _status(context, "pricing", partitions_done=len(parts), partitions_total=len(changed))
    priced = yield context.call_activity_with_retry(
        PRICE_MONTH, RETRY, {"month": month, "run_id": run_id, "from_rollups": True})

    departments = priced["departments"]
    _status(context, "rendering invoices", departments=len(departments))
    invoices = _flat((yield context.task_all([
        context.call_activity_with_retry(RENDER_INVOICE, RETRY, {"month": month, "run_id": run_id,
                                                                 "departments": batch, "issue_date": issue_date})
        for batch in spread(departments)])))
    documents = yield context.call_activity_with_retry(
        RENDER_MONTH_DOCUMENTS, RETRY, {"month": month, "run_id": run_id, "issue_date": issue_date,
                                        "invoice_numbers": {i["department"]: i["invoice_number"] for i in invoices}})

    _status(context, "recording")
    summary = yield context.call_activity_with_retry(RECORD_RUN, RETRY, {
        "month": month, "run_id": run_id, "invoices": invoices, "priced": priced, "documents": documents,
        "finished_at": context.current_utc_datetime.isoformat()})

    # After recording, not before: a notice's link serves the latest invoice in the index, so the index
    # must already point at the version the notice announces.
    _status(context, "notifying", departments=len(departments))
    notify = [context.call_activity_with_retry(NOTIFY_DEPARTMENT, RETRY, {
        "month": month, "run_id": run_id, "config_fingerprint": priced["config_fingerprint"],
        "invoices": [{k: i[k] for k in NOTICE_FIELDS} for i in batch]})
        for batch in spread(invoices)]
    try:
        notices = summarize_notices(_flat((yield context.task_all(notify)) or []))
    except Exception as exc:  # the activity records delivery failures itself; this is storage giving out
        notices = {"error": f"notices not sent: {exc}"[:500]}
    _status(context, "done", departments=len(departments))
    return {
        "month": month, "run_id": run_id, "config_fingerprint": priced["config_fingerprint"],
        "partitions": len(changed), "records": priced["records"],
        "partitions_read": len(changed), "records_read": sum(p["records"] for p in parts),
        "currency": priced["currency"], "grand_total": priced["grand_total"], "warnings": priced["warnings"],
        "invoices": [{k: i[k] for k in ("department", "name", "total", "currency", "version", "revision",
                                        "changed", "blob", "invoice_number")} for i in invoices],
        "documents": documents, "revised": summary["revised"], "notices": notices,
    }
