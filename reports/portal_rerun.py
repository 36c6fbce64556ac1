"""The portal's Rerun button: ``POST /api/portal/months/{month}/rerun``, admins only, from the portal only.

ANONYMOUS for the reason reports/__init__.py gives (App Service authentication identifies the caller).
A browser sends the admin's sign-in cookie with any site's form, so the route refuses what another site
could send (chargeback/owners/csrf.py: Sec-Fetch-Site, Origin, and the form's token) before it starts
anything; the start itself is the HTTP rerun's (orchestrations/starters.py: start_month). Success is a
303 back to the portal, where the month's run shows as queued or running.
"""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import azure.durable_functions as df
import azure.functions as func

from chargeback.errors import Forbidden, InvalidMonth
from chargeback.months import parse_month
from chargeback.owners.csrf import form_key, refuse_cross_site, verify, why_off
from chargeback.wiring import services
from http_answers import PRIVATE, answer_async
from orchestrations.starters import admin_of, start_month

bp = df.Blueprint()
MAX_FORM = 4096   # the form is a token and a month: anything longer is not it


@bp.function_name("portal_rerun")
@bp.route(route="portal/months/{month}/rerun", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def portal_rerun(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """303 to the portal once started; 403 cross-site, without a valid token or for a non-admin; 400 for a
    bad month; 409 while the month runs."""
    async def start() -> func.HttpResponse:
        refuse_cross_site(req.headers, req.url)
        principal = admin_of(req)
        month = parse_month(req.route_params.get("month", ""))
        form = _form(req)
        settings = services().settings
        verify(form_key(settings), form.get("token", ""), principal.email, month, datetime.now(UTC),
               off=why_off(settings))
        await start_month(client, month, "portal", principal)
        location = "/api/portal?" + urlencode({"until": _until(form.get("until"), month)}) + "#runs"
        return func.HttpResponse(status_code=303, headers={**PRIVATE, "Location": location})
    return await answer_async(start)


def _form(req: func.HttpRequest) -> dict[str, str]:
    body = req.get_body() or b""
    if len(body) > MAX_FORM:
        raise Forbidden(f"the form is larger than {MAX_FORM} bytes: it is not the portal's Rerun form")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _until(value: str | None, month: str) -> str:
    """The portal's ``until`` the form came from, so the admin lands on the page they left."""
    try:
        return parse_month(value or month)
    except InvalidMonth:
        return month
