"""Starters of the monthly run: the timer on the 1st and the admins' HTTP rerun."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from chargeback.errors import Forbidden, RunInProgress
from chargeback.months import instance_id, parse_month, previous_month
from chargeback.owners.identity import is_admin, principal_from_headers
from chargeback.wiring import services
from http_answers import answer_async
from orchestrations.names import MONTHLY_INVOICING

bp = df.Blueprint()
_log = logging.getLogger(__name__)
_ACTIVE = (df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending)


async def _is_running(client: df.DurableOrchestrationClient, instance: str) -> bool:
    status = await client.get_status(instance)
    return bool(status and status.runtime_status in _ACTIVE)


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
        principal = principal_from_headers(req.headers, services().settings)
        config = services().config.current()
        if not is_admin(principal, config.admins if config else ()):
            raise Forbidden("only admins may run invoicing")
        month = parse_month(req.route_params.get("month", ""))
        instance = instance_id(month)
        if await _is_running(client, instance):
            raise RunInProgress(f"invoicing {month} is already running")
        await client.start_new(MONTHLY_INVOICING, instance, {"month": month, "trigger": "http",
                                                             "requested_by": principal.email})
        return client.create_check_status_response(req, instance)
    return await answer_async(start)
