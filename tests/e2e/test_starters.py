"""The timer and HTTP starters, called as the Functions host calls them (real durable client)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest

from chargeback.owners.identity import encode_principal
from devhost.functions import user_function
from devhost.local_host import LocalHost


@pytest.fixture
def paused_host(month_loaded, monkeypatch):
    """Instances stay Pending until driven, so 'already running' can be observed."""
    monkeypatch.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
    from chargeback.wiring import reset_services, services
    reset_services()
    services()
    host = LocalHost(background=False)
    yield host
    host.close()


def post(host, month, who="finance@example.com", roles=()):
    headers = {"X-MS-CLIENT-PRINCIPAL": encode_principal(who, roles)} if who else {}
    return host.http.handle("POST", f"http://127.0.0.1:7071/api/invoices/{month}/run", headers, b"")


def test_admin_rerun_answers_202_with_status_urls_then_409_while_it_runs(paused_host):
    first = post(paused_host, "2026-10")
    assert first.status_code == 202
    urls = json.loads(first.get_body())
    assert urls["id"] == "invoice-2026-10" and "statusQueryGetUri" in urls
    assert post(paused_host, "2026-10").status_code == 409
    status = paused_host.http.handle("GET", urls["statusQueryGetUri"], {}, b"")
    assert status.status_code in (200, 202) and json.loads(status.get_body())["runtimeStatus"] == "Pending"
    paused_host.durable.run_until_idle("invoice-2026-10", timeout=120)
    assert paused_host.durable.get_status("invoice-2026-10")["runtimeStatus"] == "Completed"
    assert post(paused_host, "2026-10").status_code == 202  # a finished month may be run again


@pytest.mark.parametrize("month", ["2026-13", "10-2026", "2026-1", "..%2F2026-10"])
def test_malformed_month_is_400(paused_host, month):
    assert post(paused_host, month).status_code == 400


def test_only_admins_may_rerun(paused_host):
    assert post(paused_host, "2026-10", who="alice@example.com").status_code == 403   # an owner, not an admin
    assert post(paused_host, "2026-10", who=None).status_code == 401
    assert post(paused_host, "2026-10", who="x@example.com", roles=("Chargeback.Admin",)).status_code == 202


def test_forged_header_is_refused_when_authentication_is_off(month_loaded, monkeypatch):
    monkeypatch.delenv("CHARGEBACK_LOCAL_AUTH", raising=False)
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    from chargeback.wiring import reset_services
    reset_services()
    with LocalHost(background=False) as host:
        assert post(host, "2026-10").status_code == 401


def test_timer_starts_the_previous_month(paused_host):
    # Independently of chargeback.months: the day before the 1st of this month (UTC, as the timer runs).
    expected = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    timer = user_function("invoice_timer")
    binding = paused_host.durable.client_binding()
    paused_host.http._async.run(timer(timer=TimerRequest(past_due=False), client=binding))
    status = paused_host.durable.get_status(f"invoice-{expected}")
    assert status is not None and status["input"] == {"month": expected, "trigger": "timer"}
    # A second tick while it is still pending leaves it alone (no restart, no error).
    paused_host.http._async.run(timer(timer=TimerRequest(past_due=False), client=binding))
    assert paused_host.durable.get_status(f"invoice-{expected}")["createdTime"] == status["createdTime"]
