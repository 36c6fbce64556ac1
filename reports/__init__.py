"""HTTP functions for department owners: the invoices they may see, one workbook, the portal page.

auth_level is ANONYMOUS on purpose: in Azure these routes sit behind App Service authentication (Entra ID),
which signs the browser in and adds X-MS-CLIENT-PRINCIPAL; a function key would be one shared secret in
every owner's browser and say nothing about who they are. Without that platform guard the header is not
trusted and every request here is 401 (chargeback.owners.identity), so ANONYMOUS never means open.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from chargeback.errors import Forbidden, StorageUnavailable, UnknownInvoice
from chargeback.months import parse_month
from chargeback.owners.access import InvoiceAccess, download_name, parse_department
from chargeback.owners.bearer import principal_of  # an Entra bearer token (scripts), else App Service's header
from chargeback.owners.portal import CONTENT_SECURITY_POLICY, download_href, gather, months_back, render_portal
from chargeback.owners.portal_detail import detail
from chargeback.storage.documents import CSV, EXPORTS, INVOICES, JSON, XLSX
from chargeback.wiring import services
from http_answers import PRIVATE as _PRIVATE
from http_answers import answer as _answer
from http_answers import answer_async as _answer_async
from http_answers import json_response as _json

bp = df.Blueprint()


def _caller(req: func.HttpRequest):
    s = services()
    principal = principal_of(req.headers, s.settings)   # first: anonymous callers learn nothing
    config = s.config.current()
    return InvoiceAccess.of(principal, config), config


@bp.function_name("invoice_list")
@bp.route(route="invoices/{month}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def invoice_list(req: func.HttpRequest) -> func.HttpResponse:
    """The month's invoices the caller may see (latest version of each), as JSON."""
    def build():
        access, _ = _caller(req)
        month = parse_month(req.route_params.get("month", ""))
        entries = access.visible(services().invoice_index.month(month))
        return _json(200, {"month": month, "invoices": [
            {"department": e.department, "name": e.name, "total": str(e.total), "currency": e.currency,
             "version": e.version, "revision": e.revision, "invoice_number": e.invoice_number,
             "generated_at": e.generated_at.isoformat(), "download": download_href(e)} for e in entries]})
    return _answer(build)


@bp.function_name("invoice_download")
@bp.route(route="invoices/{month}/{department}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def invoice_download(req: func.HttpRequest) -> func.HttpResponse:
    """The department's latest workbook as an attachment, for its owners and admins."""
    def build():
        access, _ = _caller(req)
        month = parse_month(req.route_params.get("month", ""))
        department = parse_department(req.route_params.get("department", ""))
        entry = access.invoice(services().invoice_index, month, department)
        etag = f'"{entry.invoice_number}"'   # one number per version: a revision is a new tag
        headers = {"ETag": etag}
        if req.headers.get("If-None-Match") == etag:
            return func.HttpResponse(status_code=304, headers={**_PRIVATE, **headers})
        data = services().documents.get(INVOICES, entry.blob)
        if data is None:
            raise StorageUnavailable(f"workbook {entry.blob} is indexed but missing")
        return func.HttpResponse(data, status_code=200, mimetype=XLSX, headers={
            **_PRIVATE, **headers, "Content-Disposition": f'attachment; filename="{download_name(entry)}"'})
    return _answer(build)


# The month's finance summary and FOCUS export, where the month's run stores them (workflow/invoicing.py).
EXPORT_FILES = {"finance-summary.xlsx": (INVOICES, XLSX), "focus.csv": (EXPORTS, CSV),
                "focus-metadata.json": (EXPORTS, JSON)}


@bp.function_name("export_download")
@bp.route(route="exports/{month}/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def export_download(req: func.HttpRequest) -> func.HttpResponse:
    """The month's finance summary or FOCUS export as an attachment, for admins only (every department's figures)."""
    def build():
        access, _ = _caller(req)
        if not access.admin:
            raise Forbidden("only an admin may download the month's finance summary and FOCUS export")
        month = parse_month(req.route_params.get("month", ""))
        name = req.route_params.get("name", "")
        if name not in EXPORT_FILES:
            raise UnknownInvoice("no such export")
        container, mimetype = EXPORT_FILES[name]
        data = services().documents.get(container, f"{month}/{name}")
        if data is None:
            raise UnknownInvoice(f"no {name} for {month} yet")
        return func.HttpResponse(data, status_code=200, mimetype=mimetype, headers={
            **_PRIVATE, "Content-Disposition": f'attachment; filename="chargeback-{month}-{name}"'})
    return _answer(build)


@bp.function_name("owner_portal")
@bp.route(route="portal", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def owner_portal(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The portal page; ``?until=YYYY-MM`` ends its twelve months elsewhere than this month. Async only for
    an admin's run statuses (Durable's client); the storage reads run in a worker thread."""
    async def build() -> func.HttpResponse:
        access, config = await asyncio.to_thread(_caller, req)
        until = parse_month(req.params.get("until") or datetime.now(UTC).strftime("%Y-%m"))
        months = months_back(until)
        runs = await _runs(client, access, months, until) if access.admin else ""
        return await asyncio.to_thread(_portal_page, req, access, config, until, months, runs)
    return await _answer_async(build)


def _portal_page(req: func.HttpRequest, access, config, until: str, months: list[str], runs: str) -> func.HttpResponse:
    histories = gather(services().invoice_index, access, config, months)
    lookup = _StoredCharges()
    found = {h.department: detail(lookup, services().invoice_index, h.invoices) for h in histories}
    sections = _month_to_date(access, until)
    for dept, html in _attribution(histories).items():
        sections[dept] = sections.get(dept, "") + html
    page = render_portal(access, histories, months, {d: v for d, v in found.items() if v is not None},
                         sections, sort=req.params.get("sort") or "name",
                         ops=runs + _operations(histories, until) if access.admin else "")
    # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with the Rerun form's
    # POST (https://fetch.spec.whatwg.org/#append-a-request-origin-header), which the route must refuse.
    return func.HttpResponse(page, status_code=200, mimetype="text/html", charset="utf-8", headers={
        **_PRIVATE, "Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY"})


async def _runs(client: df.DurableOrchestrationClient, access, months: list[str], until: str) -> str:
    """The admin's run panel (chargeback/owners/portal_admin_runs.py): each shown month's run, newest first."""
    from chargeback.owners.csrf import form_key, issue, why_off
    from chargeback.owners.portal_admin_runs import MonthRun, runs_panel
    from orchestrations.starters import month_run
    newest_first = list(reversed(months))
    answers = await asyncio.gather(*(month_run(client, m) for m in newest_first), return_exceptions=True)
    found = [a if isinstance(a, MonthRun) else _unavailable(m, a) for m, a in zip(newest_first, answers, strict=True)]
    settings, now = services().settings, datetime.now(UTC)
    key = form_key(settings)
    token = (lambda month: issue(key, access.principal.email, month, now)) if key else None
    return runs_panel(found, token, until, why_off(settings))


def _unavailable(month: str, error: BaseException):
    """A status the Durable extension did not give: the page still renders, and says so for that month."""
    from chargeback.owners.portal_admin_runs import MonthRun
    logging.getLogger(__name__).warning("no run status for %s: %s", month, type(error).__name__)
    return MonthRun(month, "status unavailable")


def _operations(histories, month: str) -> str:
    """The admin's panels (chargeback/owners/portal_ops.py): the month's dead letters, unallocated usage."""
    from chargeback.owners.portal_ops import Letter, dead_letters_panel, unallocated_panel
    letters = (Letter(x.id, x.reason, x.recorded_at) for x in services().dead_letters.list())
    from chargeback.owners.portal_ops import exports_panel
    entries = [e for h in histories for e in h.invoices]
    return (dead_letters_panel(letters, month) + unallocated_panel(entries)
            + exports_panel(max((e.month for e in entries), default=None)))


def _month_to_date(access, month: str) -> dict[str, str]:
    """The month-to-date section (chargeback/owners/portal_mtd.py) of each department the caller may see."""
    from chargeback.owners.portal_mtd import render_mtd
    from chargeback.storage.rollup_store import RollupStore
    document = RollupStore(services().account).month_to_date(month) or {}
    return {d["department"]: render_mtd(d, month, document["currency"], document["as_of"])
            for d in document.get("departments", []) if access.may_see(d["department"])}


def _attribution(histories) -> dict[str, str]:
    """Each department's top users and tags (chargeback/owners/portal_attribution.py), from its newest invoice's run."""
    from chargeback.owners.portal_attribution import attribution_sections
    from chargeback.workflow.invoicing import load_attribution
    return attribution_sections(lambda month, run_id, dept: load_attribution(services().documents, month, run_id,
                                                                             dept), histories)


class _StoredCharges:
    """The portal's ChargesLookup: a department's priced month as its run stored it (None once gone)."""

    def charges(self, month, run_id, department):
        from chargeback.workflow.invoicing import load_department
        try:
            return load_department(services().documents, month, run_id, department)[0]
        except FileNotFoundError:
            return None


@bp.function_name("usage_to_date")
@bp.route(route="usage/{month}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def usage_to_date(req: func.HttpRequest) -> func.HttpResponse:
    """Month to date as of the last refresh, for the departments the caller may see (admins: all), as JSON."""
    def build():
        from chargeback.storage.rollup_store import RollupStore
        from chargeback.workflow.month_to_date import breakdown
        access, _ = _caller(req)
        month = parse_month(req.route_params.get("month", ""))
        document = RollupStore(services().account).month_to_date(month) or {}
        departments = [{**{k: d[k] for k in ("department", "name", "subtotal", "markup", "total", "forecast",
                                              "budget")},
                        "by_deployment": breakdown(d, "deployment"), "by_meter": breakdown(d, "meter"),
                        "by_day": breakdown(d, "day")}
                       for d in document.get("departments", []) if access.may_see(d["department"])]
        return _json(200, {"month": month, "as_of": document.get("as_of"), "currency": document.get("currency"),
                           "departments": departments})
    return _answer(build)
