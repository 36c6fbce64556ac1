"""Month to date: re-aggregate the partitions written since the last refresh, price the month so far,
send the budget alerts now due. Deterministic: only context.* calls, all I/O in activities.

Started hourly by ``mtd_timer`` (``%CHARGEBACK_MTD_SCHEDULE%``, an app setting; default ``0 5 * * * *``)
and once by ``chargeback refresh``; one instance per month (``mtd-YYYY-MM``), so two refreshes never overlap.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from activities.names import MTD_ALERTS, MTD_PRICE, MTD_REFRESH, MTD_REFRESH_PARTITION
from chargeback.months import parse_month
from orchestrations.names import MONTH_TO_DATE

bp = df.Blueprint()
_log = logging.getLogger(__name__)
FAN_OUT = 16
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=4)
_ACTIVE = (df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending)


def mtd_instance(month: str) -> str:
    return f"mtd-{parse_month(month)}"


@bp.function_name(MONTH_TO_DATE)
@bp.orchestration_trigger(context_name="context")
def month_to_date(context: df.DurableOrchestrationContext):
    month = (context.get_input() or {})["month"]
    as_of = context.current_utc_datetime.isoformat()
    # The hourly case (a few partitions written since): refreshed and priced in one activity
    # (chargeback/workflow/mtd_refresh); else it lists the changed partitions, fanned out here.
    document = yield context.call_activity_with_retry(MTD_REFRESH, RETRY, {"month": month, "as_of": as_of})
    refreshed: list[dict] = document.get("partitions", [])
    changed = document.get("changed", [])
    for start in range(0, len(changed), FAN_OUT):
        wave = [context.call_activity_with_retry(MTD_REFRESH_PARTITION, RETRY, {"month": month, **part})
                for part in changed[start:start + FAN_OUT]]
        refreshed.extend((yield context.task_all(wave)))
        context.set_custom_status({"stage": "refreshing", "done": len(refreshed), "total": len(changed)})
    if "changed" in document:
        document = yield context.call_activity_with_retry(MTD_PRICE, RETRY, {"month": month, "as_of": as_of})
    alerts = yield context.call_activity_with_retry(MTD_ALERTS, RETRY, {"month": month})
    return {"month": month, "as_of": as_of, "partitions_read": len(refreshed),
            "records_read": sum(r["records"] for r in refreshed), "total": document["total"],
            "currency": document["currency"], "alerts": alerts}


@bp.function_name("mtd_timer")
@bp.timer_trigger(arg_name="timer", schedule="%CHARGEBACK_MTD_SCHEDULE%", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def mtd_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Refresh this month (UTC), unless its refresh is still going."""
    month = f"{datetime.now(UTC):%Y-%m}"
    instance = mtd_instance(month)
    status = await client.get_status(instance)
    if status and status.runtime_status in _ACTIVE:
        _log.info("month to date %s is still refreshing; the timer leaves it be", month)
        return
    await client.start_new(MONTH_TO_DATE, instance, {"month": month, "trigger": "timer"})
