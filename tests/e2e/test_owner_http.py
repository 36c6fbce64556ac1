"""The owners' routes over real HTTP, as `chargeback serve` serves them: who may see and download what."""
from __future__ import annotations

from io import BytesIO

import openpyxl
import pytest

from chargeback.config.loading import parse_config
from chargeback.storage.documents import XLSX
from devhost.local_host import LocalHost

from .conftest import CONFIG
from .http_site import ADMIN, ALICE, BOB, CAROL, Answer, call, month_in_storage, serve, served


@pytest.fixture(scope="module")
def site(azurite):
    """`chargeback serve` in local development mode over one month run once for the module (tests only read,
    and the admin's rerun changes nothing); yields its base URL and the host."""
    with month_in_storage(azurite, parse_config(CONFIG)):
        host = LocalHost(retry_delay_scale=0.001)
        assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
        with served(host) as base:
            yield base, host


def departments(answer: Answer) -> list[str]:
    assert answer.status == 200
    return [i["department"] for i in answer.json()["invoices"]]


def test_the_list_shows_owners_their_departments_and_admins_everything(site):
    base, _ = site
    assert departments(call(base, "/api/invoices/2026-10", ALICE)) == ["marketing"]
    assert departments(call(base, "/api/invoices/2026-10", BOB)) == ["sales"]
    assert departments(call(base, "/api/invoices/2026-10", ADMIN)) == ["marketing", "sales"]
    assert departments(call(base, "/api/invoices/2026-10", "x@example.com", ("Chargeback.Admin",))) == [
        "marketing", "sales"]
    assert departments(call(base, "/api/invoices/2026-10", CAROL)) == []
    assert departments(call(base, "/api/invoices/2026-09", ALICE)) == []
    listed = call(base, "/api/invoices/2026-10", ALICE).json()["invoices"][0]
    assert (listed["total"], listed["invoice_number"], listed["download"]) == (
        "103.52", "CB-2026-10-MARKETING-1", "/api/invoices/2026-10/marketing")


def test_an_owner_downloads_the_latest_workbook_as_a_private_attachment(site):
    base, _ = site
    answer = call(base, "/api/invoices/2026-10/marketing", ALICE)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == XLSX
    assert answer.headers["Content-Disposition"] == 'attachment; filename="CB-2026-10-MARKETING-1.xlsx"'
    assert "private" in answer.headers["Cache-Control"]
    workbook = openpyxl.load_workbook(BytesIO(answer.body))
    cells = {str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert "CB-2026-10-MARKETING-1" in " ".join(cells)
    unchanged = call(base, "/api/invoices/2026-10/marketing", ALICE, headers={"If-None-Match": answer.headers["ETag"]})
    assert unchanged.status == 304 and unchanged.body == b""


def test_admins_download_any_department(site):
    base, _ = site
    assert call(base, "/api/invoices/2026-10/sales", ADMIN).status == 200
    assert call(base, "/api/invoices/2026-10/marketing", "x@example.com", ("Chargeback.Admin",)).status == 200


def test_another_departments_invoice_is_indistinguishable_from_a_missing_one(site):
    base, _ = site
    hidden = call(base, "/api/invoices/2026-10/sales", ALICE)           # exists, not alice's
    missing = call(base, "/api/invoices/2026-10/legal", ALICE)          # no such department
    no_month = call(base, "/api/invoices/2026-09/marketing", ALICE)     # hers, but no invoice that month
    outsider = call(base, "/api/invoices/2026-10/sales", CAROL)
    assert {a.status for a in (hidden, missing, no_month, outsider)} == {404}
    assert hidden.body == missing.body == no_month.body == outsider.body
    assert hidden.headers["Content-Type"] == missing.headers["Content-Type"]


@pytest.mark.parametrize("path", ["/api/invoices/2026-10", "/api/invoices/2026-10/marketing", "/api/portal"])
def test_anonymous_requests_are_401(site, path):
    assert call(site[0], path).status == 401


@pytest.mark.parametrize("path", ["/api/invoices/2026-13", "/api/invoices/26-10/marketing", "/api/invoices/2026-1",
                                  "/api/invoices/2026-10/Marketing", "/api/invoices/2026-10/..%2Fsales",
                                  "/api/invoices/2026-10/%2e%2e", "/api/invoices/2026-10/sales%5C..",
                                  "/api/invoices/..%2F2026-10/marketing", "/api/invoices/2026-10/sales%00",
                                  "/api/portal?until=2026-13"])
def test_bad_months_departments_and_path_tricks_are_400(site, path):
    answer = call(site[0], path, ADMIN)
    assert answer.status == 400, (path, answer.body)
    assert "error" in answer.json()


@pytest.mark.parametrize("path", ["/api/invoices/2026-10/../2026-10/sales", "/api/invoices/2026-10/sales/",
                                  "/api/invoices/2026-10/sales/..", "/api/invoices/2026-10/marketing/../sales"])
def test_extra_segments_match_no_route(site, path):
    answer = call(site[0], path, ALICE)
    assert answer.status == 404 and not answer.body.startswith(b"PK")   # never a workbook


def test_rerun_is_for_admins_only(site):
    base, host = site
    assert call(base, "/api/invoices/2026-10/run", ALICE, method="POST").status == 403
    started = call(base, "/api/invoices/2026-10/run", ADMIN, method="POST")
    assert started.status == 202 and started.json()["id"] == "invoice-2026-10"
    assert host.durable.wait_for_completion("invoice-2026-10", 120)["runtimeStatus"] == "Completed"


def test_a_forged_header_is_401_when_authentication_is_off(month_loaded, monkeypatch):
    monkeypatch.delenv("CHARGEBACK_LOCAL_AUTH", raising=False)
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    from chargeback.wiring import reset_services
    reset_services()
    with LocalHost(retry_delay_scale=0.001) as host:
        assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
        server, base = serve(host)
        try:
            for path in ("/api/invoices/2026-10", "/api/invoices/2026-10/sales", "/api/portal"):
                assert call(base, path, ADMIN, ("Chargeback.Admin",)).status == 401
        finally:
            server.shutdown()
            server.server_close()
