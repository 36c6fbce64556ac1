"""GET /api/usage/{month} over real HTTP, after a refresh: owners see their departments, admins all."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chargeback.config.loading import parse_config
from devhost.local_host import LocalHost
from devhost.mtd_commands import refresh_once

from .conftest import CONFIG, EXPECTED_TOTALS
from .http_site import ADMIN, ALICE, CAROL, call, month_in_storage, served


@pytest.fixture(scope="module")
def site(azurite):
    with month_in_storage(azurite, parse_config(CONFIG)):
        assert refresh_once("2026-10", timeout=120)["runtimeStatus"] == "Completed"
        with served(LocalHost(retry_delay_scale=0.001)) as base:
            yield base


def test_an_owner_sees_their_department_with_its_breakdown(site):
    answer = call(site, "/api/usage/2026-10", ALICE)
    assert answer.status == 200
    body = answer.json()
    assert [d["department"] for d in body["departments"]] == ["marketing"]
    marketing = body["departments"][0]
    # October is over: the pool (300.00) has accrued whole; marketing's share 100.27 plus PAYG 3.25 (conftest)
    assert marketing["total"] == EXPECTED_TOTALS["marketing"]
    assert {r["deployment"]: r["cost"] for r in marketing["by_deployment"]} == {"gpt-4o": "3.25",
                                                                                 "gpt-4o-ptu": "100.27"}
    # gpt-4o: 800,000 uncached input x 2.50/1M = 2.00, 200,000 cached x 1.25/1M = 0.25, 100,000 output = 1.00
    by_meter = {r["meter"]: r["cost"] for r in marketing["by_meter"]}
    assert by_meter["cached_input"] == "0.25"


def test_admins_see_every_department_and_others_none(site):
    everyone = call(site, "/api/usage/2026-10", ADMIN).json()["departments"]
    assert {d["department"]: d["total"] for d in everyone} == EXPECTED_TOTALS
    assert call(site, "/api/usage/2026-10", CAROL).json()["departments"] == []
    assert call(site, "/api/usage/2026-10").status == 401
    assert call(site, "/api/usage/2026-13", ALICE).status == 400


def test_the_portal_shows_month_to_date_under_the_strict_policy(site):
    from html.parser import HTMLParser
    answer = call(site, "/api/portal?until=2026-10", ALICE)
    assert answer.status == 200
    page = answer.body.decode()
    assert "2026-10 so far" in page and "Cost by deployment" in page and "Cost by meter" in page
    assert "<script" not in page and " style=" not in page   # the CSP allows neither
    assert "script-src" not in answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    cells = []

    class Cells(HTMLParser):
        def handle_data(self, data):
            cells.append(data.strip())

    Cells().feed(page)
    assert "103.52 USD" in cells and "100.27 USD" in cells and "3.25 USD" in cells   # total; pool; gpt-4o
    assert "Sales" not in page


def test_the_usage_command_shows_month_to_date_by_meter(site, capsys):
    import json

    from devhost.cli import main
    assert main(["usage", "2026-10", "--by", "meter", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["total"] == "304.75"   # 103.52 + 201.23 (conftest)
    by_meter = {r["meter"]: r for r in shown["rows"]}
    assert by_meter["cached_input"]["quantity"] == "201024"   # 200,000 (marketing) + 1,024 (sales)
    assert sum(Decimal(r["cost"]) for r in shown["rows"]) == Decimal("304.75")
    assert main(["usage", "2026-10", "--by", "department"]) == 0
    assert "marketing" in capsys.readouterr().out
