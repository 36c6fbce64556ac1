"""Viewers and group members over real HTTP, as `chargeback serve` serves them (issue 13): a viewer, a
notice recipient and a member of an owner group open their department's invoice and nobody else's."""
from __future__ import annotations

from io import BytesIO

import openpyxl
import pytest

from chargeback.config.loading import parse_config
from devhost.local_host import LocalHost

from .conftest import CONFIG
from .http_site import call, month_in_storage, served

MKT_GROUP = "3f2a8c1d-5b6e-4f70-9a81-b2c3d4e5f601"
SALES_GROUP = "9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9"
VIEWERS = CONFIG.replace(
    "notify: {email: [alice@example.com], webhook: null}, subscriptions: [sub-mkt]}",
    "notify: {email: [alice@example.com, billing@example.com], webhook: null}, subscriptions: [sub-mkt],"
    " viewers: [vera@example.com]}").replace(
    "owners: [bob@example.com],", f"owners: [bob@example.com, {SALES_GROUP}], viewers: [{MKT_GROUP}],", 1)


def get(base: str, path: str, who: str, groups: tuple[str, ...] = ()) -> tuple[int, bytes]:
    answer = call(base, path, who, groups=groups)
    return answer.status, answer.body


@pytest.fixture(scope="module")
def site(azurite):
    config = parse_config(VIEWERS)
    assert config.department("sales").viewers == (MKT_GROUP,)   # the replacement above took
    with month_in_storage(azurite, config):
        host = LocalHost(retry_delay_scale=0.001)
        assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
        with served(host) as base:
            yield base


def department_of(body: bytes) -> str:
    sheet = openpyxl.load_workbook(BytesIO(body), read_only=True).worksheets[0]
    return " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)


@pytest.mark.parametrize(("who", "groups", "mine", "not_mine"), [
    ("vera@example.com", (), "marketing", "sales"),                 # a viewer by address
    ("billing@example.com", (), "marketing", "sales"),              # a notice recipient
    ("gus@example.com", (SALES_GROUP,), "sales", "marketing"),      # a member of an owner group
])
def test_a_viewer_and_a_group_member_open_their_departments_invoice_and_nobody_elses(site, who, groups, mine,
                                                                                     not_mine):
    status, body = get(site, f"/api/invoices/2026-10/{mine}", who, groups)
    assert status == 200 and body[:2] == b"PK"
    assert {"marketing": "Marketing", "sales": "Sales"}[mine] in department_of(body)
    assert get(site, f"/api/invoices/2026-10/{not_mine}", who, groups)[0] == 404
    listed = get(site, "/api/invoices/2026-10", who, groups)
    assert listed[0] == 200 and f'"{mine}"' in listed[1].decode() and f'"{not_mine}"' not in listed[1].decode()
    status, page = get(site, "/api/portal", who, groups)
    assert status == 200 and f"/api/invoices/2026-10/{mine}" in page.decode()
    assert f"/api/invoices/2026-10/{not_mine}" not in page.decode()


def test_a_viewer_group_sees_both_and_an_unknown_group_nothing(site):
    both = ("vera@example.com", (MKT_GROUP,))   # viewer of marketing by address, of sales by group
    assert [get(site, f"/api/invoices/2026-10/{d}", *both)[0] for d in ("marketing", "sales")] == [200, 200]
    stranger = ("gus@example.com", ("00000000-0000-4000-8000-000000000000",))
    assert [get(site, f"/api/invoices/2026-10/{d}", *stranger)[0] for d in ("marketing", "sales")] == [404, 404]
    # a group id dressed as an address grants nothing
    assert get(site, "/api/invoices/2026-10/sales", f"{SALES_GROUP}@example.com")[0] == 404
