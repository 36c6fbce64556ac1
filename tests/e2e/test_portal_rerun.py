"""The admin's Rerun button over the local host (issue 13, point 4): the product itself refuses what another
site could send. Requests go to the HTTP functions directly (host.http.handle), not through `chargeback
serve`, so devhost's own cross-site guard (tests/e2e/test_serve_hardening.py) is not what refuses here."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest

from chargeback.config.loading import parse_config
from chargeback.owners.identity import encode_principal
from devhost.local_host import LocalHost

from .conftest import CONFIG, EXPECTED_TOTALS

ADMIN = "finance@example.com"
BASE = "http://127.0.0.1:7071"
SAME_ORIGIN = {"Host": "127.0.0.1:7071", "Origin": BASE, "Sec-Fetch-Site": "same-origin",
               "Content-Type": "application/x-www-form-urlencoded"}
WITH_VIEWER = CONFIG.replace("subscriptions: [sub-mkt]}", "subscriptions: [sub-mkt], viewers: [vera@example.com]}")
KEY = "k" * 16 + "0123456789abcdef0123"   # 36 characters


class Forms(HTMLParser):
    """Each form's action -> its hidden fields and whether its button is disabled."""

    def __init__(self, html: str):
        super().__init__()
        self.found: dict[str, dict] = {}
        self._action: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._action = a["action"]
            self.found[self._action] = {"method": a.get("method"), "disabled": False}
        elif tag == "input" and self._action:
            self.found[self._action][a["name"]] = a["value"]
        elif tag == "button" and self._action:
            self.found[self._action]["disabled"] = "disabled" in a

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None


@pytest.fixture
def host(month_loaded, monkeypatch):
    """Loopback development mode (a form key per process); runs stay Pending until driven."""
    monkeypatch.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
    monkeypatch.delenv("CHARGEBACK_CSRF_KEY", raising=False)
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    from chargeback.wiring import reset_services, services
    reset_services()
    services().config.save(parse_config(WITH_VIEWER))
    local = LocalHost(background=False, retry_delay_scale=0.001)
    yield local
    local.close()


def principal(who: str | None, roles=()) -> dict:
    return {"X-MS-CLIENT-PRINCIPAL": encode_principal(who, roles)} if who else {}


def portal(host, who=ADMIN, roles=(), until="2026-10") -> str:
    answer = host.http.handle("GET", f"{BASE}/api/portal?until={until}", principal(who, roles), b"")
    assert answer.status_code == 200, answer.get_body()
    return answer.get_body().decode()


def form_of(html: str, month: str) -> dict:
    return Forms(html).found[f"/api/portal/months/{month}/rerun"]


def post(host, month, token, who=ADMIN, roles=(), headers=None, until="2026-10"):
    body = urlencode({"token": token, "until": until}).encode() if token is not None else b""
    return host.http.handle("POST", f"{BASE}/api/portal/months/{month}/rerun",
                            {**(SAME_ORIGIN if headers is None else headers), **principal(who, roles)}, body)


def error(answer) -> str:
    return json.loads(answer.get_body())["error"]


def status_cell(html: str, month: str) -> str:
    runs = html[html.index('id="runs"'):]
    row = runs[runs.index(f'<th scope="row">{month}</th>'):]
    return row[row.index("<td") + 3:row.index("</td>")].split(">", 1)[1]


def test_rerun_from_the_portal_starts_the_month_and_the_page_shows_it(host, caplog):
    html = portal(host)
    assert "Invoicing runs" in html and status_cell(html, "2026-10") == "not started"
    form = form_of(html, "2026-10")
    assert form["method"] == "post" and form["until"] == "2026-10" and not form["disabled"]
    with caplog.at_level(logging.DEBUG):
        answer = post(host, "2026-10", form["token"])
    assert answer.status_code == 303, answer.get_body()
    assert answer.headers["Location"] == "/api/portal?until=2026-10#runs"
    assert form["token"] not in caplog.text   # never logged
    started = host.durable.get_status("invoice-2026-10")
    assert started["runtimeStatus"] == "Pending"
    assert started["input"] == {"month": "2026-10", "trigger": "portal", "requested_by": ADMIN}

    after = portal(host)
    assert status_cell(after, "2026-10").startswith("queued at ")
    assert status_cell(after, "2026-10").endswith(f"(started by {ADMIN})")
    assert form_of(after, "2026-10")["disabled"] and not form_of(after, "2026-09")["disabled"]
    again = post(host, "2026-10", form_of(after, "2026-10")["token"])
    assert again.status_code == 409 and "already running" in error(again)

    host.durable.run_until_idle("invoice-2026-10", timeout=120)
    assert host.durable.get_status("invoice-2026-10")["runtimeStatus"] == "Completed"
    done = portal(host)
    assert status_cell(done, "2026-10").startswith("completed at ") and not form_of(done, "2026-10")["disabled"]
    totals = {e.department: str(e.total) for e in host_index_month(host, "2026-10")}
    assert totals == EXPECTED_TOTALS


def host_index_month(host, month):
    from chargeback.wiring import services
    return [e for e in services().invoice_index.month(month) if e.department in EXPECTED_TOTALS]


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Sec-Fetch-Site": "cross-site"}, "cross-site request (Sec-Fetch-Site)"),
    ({"Sec-Fetch-Site": "same-site"}, "same-site request (Sec-Fetch-Site)"),
    ({"Sec-Fetch-Site": "none"}, "none request (Sec-Fetch-Site)"),
    ({"Origin": "https://evil.example"}, "Origin is not this site"),
    ({"Origin": "http://127.0.0.1:7072"}, "Origin is not this site"),   # another port is another origin
    ({"Origin": "null"}, "Origin is not this site"),
    ({"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1.evil.example"}, "Origin is not this site"),
])
def test_cross_site_posts_are_refused_with_a_valid_token(host, headers, reason):
    token = form_of(portal(host), "2026-10")["token"]
    answer = post(host, "2026-10", token, headers={"Host": "127.0.0.1:7071", **headers})
    assert answer.status_code == 403 and reason in error(answer)
    assert host.durable.get_status("invoice-2026-10") is None
    assert post(host, "2026-10", token).status_code == 303   # the same token, same-origin: the control


def _flip(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_missing_wrong_expired_or_borrowed_tokens_are_refused(host):
    from chargeback.owners.csrf import form_key, issue
    from chargeback.wiring import services
    token = form_of(portal(host), "2026-10")["token"]
    other_admin = form_of(portal(host, "x@example.com", ("Chargeback.Admin",)), "2026-10")["token"]
    september = form_of(portal(host), "2026-09")["token"]
    expired = issue(form_key(services().settings), ADMIN, "2026-10", datetime.now(UTC) - timedelta(hours=5))
    cases = [(None, "carries no token"), ("", "carries no token"), ("not-a-token", "malformed"),
             (_flip(token), "not valid for you and this month"),
             (september, "not valid for you and this month"),      # another month's form
             (other_admin, "not valid for you and this month"),    # another admin's form
             (expired, "has expired")]
    for sent, reason in cases:
        answer = post(host, "2026-10", sent)
        assert answer.status_code == 403 and reason in error(answer), (sent, answer.get_body())
    assert host.durable.get_status("invoice-2026-10") is None
    # The control: the genuine token is accepted, and the expired one is refused only for its age
    # (issued now, the same call gives a working token).
    assert post(host, "2026-10", issue(form_key(services().settings), ADMIN, "2026-10",
                                       datetime.now(UTC))).status_code == 303


def test_owners_viewers_and_strangers_may_not_rerun(host):
    token = form_of(portal(host), "2026-10")["token"]
    for who in ("alice@example.com", "vera@example.com", "nobody@example.com"):
        answer = post(host, "2026-10", token, who=who)
        assert answer.status_code == 403 and "only admins" in error(answer)
        assert "Invoicing runs" not in portal(host, who) and "<form" not in portal(host, who)
    assert post(host, "2026-10", token, who=None).status_code == 401
    assert host.durable.get_status("invoice-2026-10") is None


@pytest.mark.parametrize("month", ["2026-13", "10-2026", "2026-1", "..%2F2026-10"])
def test_a_malformed_month_is_400(host, month):
    token = form_of(portal(host), "2026-10")["token"]
    assert post(host, month, token).status_code == 400


def test_outside_development_mode_the_form_needs_a_configured_key(host, monkeypatch):
    from chargeback.wiring import reset_services
    monkeypatch.delenv("CHARGEBACK_LOCAL_AUTH")
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")   # as in Azure: App Service authentication sets the header
    reset_services()
    html = portal(host)
    assert "Reruns from the portal are off: CHARGEBACK_CSRF_KEY is not set" in html and "<form" not in html
    answer = post(host, "2026-10", "1999999999.abc")
    assert answer.status_code == 403 and "rerun form is off: CHARGEBACK_CSRF_KEY is not set" in error(answer)

    monkeypatch.setenv("CHARGEBACK_CSRF_KEY", "too-short")
    reset_services()
    assert "shorter than 32 characters" in error(post(host, "2026-10", "1999999999.abc"))

    monkeypatch.setenv("CHARGEBACK_CSRF_KEY", KEY)
    reset_services()
    token = form_of(portal(host), "2026-10")["token"]
    monkeypatch.setenv("CHARGEBACK_CSRF_KEY", KEY[::-1])   # the key rotated: forms signed before are void
    reset_services()
    assert "not valid for you" in error(post(host, "2026-10", token))
    monkeypatch.setenv("CHARGEBACK_CSRF_KEY", KEY)
    reset_services()
    assert post(host, "2026-10", token).status_code == 303
    assert host.durable.get_status("invoice-2026-10")["input"]["trigger"] == "portal"


def test_the_http_rerun_still_starts_the_same_way(host):
    """invoice_rerun and the portal share start_month: one instance id, one input shape, one 409."""
    answer = host.http.handle("POST", f"{BASE}/api/invoices/2026-10/run", principal(ADMIN), b"")
    assert answer.status_code == 202
    assert host.durable.get_status("invoice-2026-10")["input"] == {"month": "2026-10", "trigger": "http",
                                                                   "requested_by": ADMIN}
    refused = post(host, "2026-10", form_of(portal(host), "2026-10")["token"])
    assert refused.status_code == 409


def test_a_failed_run_shows_in_the_portal_with_its_reason(host, monkeypatch):
    """Pricing that keeps failing (its storage gone, say) fails the run after its retries; the admin reads why."""
    from chargeback.workflow import invoicing

    def unavailable(*args, **kwargs):
        raise RuntimeError("the prices table did not answer")
    monkeypatch.setattr(invoicing, "price_usage_step", unavailable)
    monkeypatch.setattr(invoicing, "price_step", unavailable)
    assert post(host, "2026-10", form_of(portal(host), "2026-10")["token"]).status_code == 303
    host.durable.run_until_idle("invoice-2026-10", timeout=120)
    assert host.durable.get_status("invoice-2026-10")["runtimeStatus"] == "Failed"
    html = portal(host)
    cell = status_cell(html, "2026-10")
    assert cell.startswith("failed at ") and cell.endswith(f"(started by {ADMIN})")
    assert "the prices table did not answer" in cell, cell
    assert not form_of(html, "2026-10")["disabled"]   # a failed month may be run again


def test_a_status_durable_does_not_give_leaves_the_page_up(host, monkeypatch):
    from orchestrations import starters
    real = starters.month_run

    async def flaky(client, month):
        if month == "2026-09":
            raise ConnectionError("the durable extension did not answer")
        return await real(client, month)
    monkeypatch.setattr(starters, "month_run", flaky)
    html = portal(host)
    assert status_cell(html, "2026-09") == "status unavailable"
    assert status_cell(html, "2026-10") == "not started"


def test_an_oversized_form_is_refused_as_such_and_nothing_starts(host):
    token = form_of(portal(host), "2026-10")["token"]
    body = urlencode({"token": token, "until": "2026-10", "pad": "x" * 5000}).encode()
    answer = host.http.handle("POST", f"{BASE}/api/portal/months/2026-10/rerun",
                              {**SAME_ORIGIN, **principal(ADMIN)}, body)
    assert answer.status_code == 403 and "larger than 4096 bytes" in error(answer)
    assert "queued" not in status_cell(portal(host), "2026-10")
    assert post(host, "2026-10", token).status_code == 303   # the same token in a normal form still works
