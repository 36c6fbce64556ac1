"""Starters of the monthly run: the timer on the 1st, the admins' HTTP rerun and the portal's Rerun button.

``start_month`` is the one way a month is started on request (the HTTP rerun and the portal's form call
it); ``month_run`` reads a month's run for the portal's status column.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from chargeback.errors import Forbidden, RunInProgress
from chargeback.months import instance_id, parse_month, previous_month
from chargeback.owners.identity import Principal, is_admin, principal_from_headers
from chargeback.owners.portal_admin_runs import MonthRun
from chargeback.wiring import services
from http_answers import answer_async
from orchestrations.names import MONTHLY_INVOICING

bp = df.Blueprint()
_log = logging.getLogger(__name__)
_ACTIVE = (df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending)


async def _is_running(client: df.DurableOrchestrationClient, instance: str) -> bool:
    status = await client.get_status(instance)
    return bool(status and status.runtime_status in _ACTIVE)


async def start_month(client: df.DurableOrchestrationClient, month: str, trigger: str,
                      principal: Principal) -> str:
    """Start (or restart) ``month``'s run for an admin: its instance id; RunInProgress while one runs."""
    instance = instance_id(month)
    if await _is_running(client, instance):
        raise RunInProgress(f"invoicing {month} is already running")
    await client.start_new(MONTHLY_INVOICING, instance, {"month": month, "trigger": trigger,
                                                         "requested_by": principal.email})
    _log.info("started invoicing %s (%s, %s)", month, instance, trigger)
    return instance


def admin_of(req: func.HttpRequest) -> Principal:
    """The calling admin; Unauthenticated or Forbidden otherwise."""
    principal = principal_from_headers(req.headers, services().settings)
    config = services().config.current()
    if not is_admin(principal, config.admins if config else ()):
        raise Forbidden("only admins may run invoicing")
    return principal


async def month_run(client: df.DurableOrchestrationClient, month: str) -> MonthRun:
    """What the Durable instance of ``month`` says: not started, queued, running, completed or failed."""
    status = await client.get_status(instance_id(month), show_input=True)
    if not status or status.runtime_status is None:   # the SDK answers an empty status for 404
        return MonthRun(month, "not started")
    given = status.input_ if isinstance(status.input_, dict) else {}
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return MonthRun(month, status.runtime_status.value, status.last_updated_time,
                    reason=str(status.output) if status.runtime_status.value == "Failed" else "",
                    stage=str(custom.get("stage") or ""), requested_by=str(given.get("requested_by") or ""))


@bp.function_name("invoice_timer")
@bp.timer_trigger(arg_name="timer", schedule="%CHARGEBACK_INVOICE_SCHEDULE%", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def invoice_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """On the 1st: invoice the month that just ended, unless its run is already going."""
    month = previous_month(datetime.now(UTC))
    instance = instance_id(month)
    if await _is_running(client, instance):
        _log.info("invoicing %s is already running; the timer leaves it be", month)
        return
    await client.start_new(MONTHLY_INVOICING, instance, {"month": month, "trigger": "timer"})
    _log.info("started invoicing %s (%s)", month, instance)


@bp.function_name("invoice_rerun")
@bp.route(route="invoices/{month}/run", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def invoice_rerun(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Admins start (or restart) a month: 202 with status URLs, 409 while it runs, 400 for a bad month."""
    async def start() -> func.HttpResponse:
        principal = admin_of(req)
        month = parse_month(req.route_params.get("month", ""))
        instance = await start_month(client, month, "http", principal)
        return client.create_check_status_response(req, instance)
    return await answer_async(start)
