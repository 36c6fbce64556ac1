"""HTTP functions for department owners: the invoices they may see, one workbook, the portal page.

auth_level is ANONYMOUS on purpose: in Azure these routes sit behind App Service authentication (Entra ID),
which signs the browser in and adds X-MS-CLIENT-PRINCIPAL; a function key would be one shared secret in
every owner's browser and say nothing about who they are. Without that platform guard the header is not
trusted and every request here is 401 (chargeback.owners.identity), so ANONYMOUS never means open.
"""
from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from chargeback.errors import StorageUnavailable
from chargeback.months import parse_month
from chargeback.owners.access import InvoiceAccess, download_name, parse_department
from chargeback.owners.bearer import principal_of  # an Entra bearer token (scripts), else App Service's header
from chargeback.owners.portal import CONTENT_SECURITY_POLICY, download_href, gather, months_back, render_portal
from chargeback.storage.documents import INVOICES, XLSX
from chargeback.wiring import services
from http_answers import PRIVATE as _PRIVATE
from http_answers import answer as _answer
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


@bp.function_name("owner_portal")
@bp.route(route="portal", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def owner_portal(req: func.HttpRequest) -> func.HttpResponse:
    """The portal page; ``?until=YYYY-MM`` ends its twelve months elsewhere than this month."""
    def build():
        access, config = _caller(req)
        until = parse_month(req.params.get("until") or datetime.now(UTC).strftime("%Y-%m"))
        months = months_back(until)
        page = render_portal(access, gather(services().invoice_index, access, config, months), months)
        return func.HttpResponse(page, status_code=200, mimetype="text/html", charset="utf-8", headers={
            **_PRIVATE, "Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY"})
    return _answer(build)
