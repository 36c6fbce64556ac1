"""Issue 11, "nobody in": `chargeback serve` as a hostile page, a rebinding DNS name or a broken client
would meet it, over real sockets."""
from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from chargeback.owners.identity import ADMIN_ROLE, encode_principal
from devhost.dev_signin import SignedInAs
from devhost.http_host import make_server, serve_in_thread
from devhost.local_host import LocalHost

ADMIN = "finance@example.com"
STATUS = "/runtime/webhooks/durabletask/instances/invoice-2026-10"
START_ANOTHER = "/runtime/webhooks/durabletask/orchestrators/monthly_invoicing/invoice-2026-10-again"


@pytest.fixture
def served(month_loaded, monkeypatch):
    """serve in development mode (identity header trusted); yields (port, host)."""
    monkeypatch.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
    from chargeback.wiring import reset_services
    reset_services()
    host = LocalHost(retry_delay_scale=0.001)
    servers = []

    def start(front=None) -> int:
        server = make_server(front or host.http, "127.0.0.1", 0)
        serve_in_thread(server)
        servers.append(server)
        return server.server_address[1]
    yield start, host
    for server in servers:
        server.shutdown()
        server.server_close()
    host.close()


def request(port: int, method: str, path: str, headers: dict | None = None, body: bytes = b"",
            host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host or f"127.0.0.1:{port}")
    sent = {"Content-Length": str(len(body)), **(headers or {})}
    for name, value in sent.items():
        conn.putheader(name, value)
    conn.endheaders(body or None)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def admin() -> dict:
    return {"X-MS-CLIENT-PRINCIPAL": encode_principal(ADMIN)}


def test_a_content_length_of_minus_one_is_400_at_once(served):
    start, _ = served
    port = start()
    began = time.monotonic()
    status, _ = request(port, "POST", "/api/invoices/2026-10/run", {**admin(), "Content-Length": "-1"})
    assert status == 400 and time.monotonic() - began < 5
    assert request(port, "GET", "/api/invoices/2026-10", {**admin(), "Content-Length": "1e3"})[0] == 400


def test_durable_management_routes_need_the_admin_identity_or_the_hosts_key(served):
    start, host = served
    port = start()
    assert request(port, "GET", STATUS)[0] == 401
    assert request(port, "POST", START_ANOTHER, body=b'{"month": "2026-10"}')[0] == 401
    owner = {"X-MS-CLIENT-PRINCIPAL": encode_principal("alice@example.com")}
    assert request(port, "GET", STATUS, owner)[0] == 401
    assert host.durable.get_status("invoice-2026-10-again") is None
    assert request(port, "GET", STATUS + "?code=guessed")[0] == 401
    # The admin may; and so may whoever holds the status URL a start answered (its code= is the key).
    assert request(port, "GET", STATUS, admin())[0] == 404   # no run yet: the route answers
    status, body = request(port, "POST", "/api/invoices/2026-10/run", admin())
    assert status == 202
    own_url = json.loads(body)["statusQueryGetUri"]
    path = own_url[own_url.index("/runtime/"):]
    assert "code=" in path and request(port, "GET", path)[0] in (200, 202)
    host.durable.wait_for_completion("invoice-2026-10", 120)


def test_with_no_dev_auth_the_management_routes_are_closed_too(served, monkeypatch):
    monkeypatch.delenv("CHARGEBACK_LOCAL_AUTH")
    from chargeback.wiring import reset_services
    reset_services()
    start, _ = served
    port = start()
    assert request(port, "GET", "/api/invoices/2026-10", admin())[0] == 401
    assert request(port, "GET", STATUS, admin())[0] == 401
    assert request(port, "POST", START_ANOTHER, admin(), body=b'{"month": "2026-10"}')[0] == 401


def test_the_management_apis_own_port_needs_the_key(served):
    _, host = served
    api = host.durable.management_api()
    port = int(api.origin.rsplit(":", 1)[1])
    assert request(port, "GET", "/runtime/webhooks/durabletask/instances/x")[0] == 401
    assert request(port, "GET", "/durabletask/instances/x")[0] == 404   # the RPC base is under the key
    assert request(port, "GET", f"/durabletask/{api.key}/instances/x")[0] == 404   # known route, no instance
    assert json.loads(api.binding_json("Hub"))["rpcBaseUrl"].endswith(f"/durabletask/{api.key}/")


def test_a_rebinding_host_name_is_refused(served):
    """DNS rebinding: evil.example resolves to 127.0.0.1, and the page reads another department's workbook."""
    start, _ = served
    port = start(SignedInAs(served[1].http, ADMIN, (ADMIN_ROLE,)))
    assert request(port, "GET", "/api/invoices/2026-10", host=f"evil.example:{port}")[0] == 421
    assert request(port, "GET", "/api/invoices/2026-10", host=f"localhost:{port}")[0] == 200
    assert request(port, "GET", "/api/invoices/2026-10")[0] == 200


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"}])
def test_a_cross_site_form_post_cannot_start_a_run_in_admin_mode(served, headers):
    start, host = served
    port = start(SignedInAs(host.http, ADMIN, (ADMIN_ROLE,)))
    form = {"Content-Type": "text/plain", **headers}
    status, _ = request(port, "POST", "/api/invoices/2026-10/run", form, body=b"x=1")
    assert status == 403
    assert host.durable.get_status("invoice-2026-10") is None


def test_a_same_origin_post_still_starts_the_run(served):
    start, host = served
    port = start(SignedInAs(host.http, ADMIN, (ADMIN_ROLE,)))
    status, _ = request(port, "POST", "/api/invoices/2026-10/run",
                        {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
    assert status == 202
    assert host.durable.wait_for_completion("invoice-2026-10", 120)["runtimeStatus"] == "Completed"


def test_a_principal_whose_claims_is_not_a_list_is_401_over_http(served):
    import base64
    start, _ = served
    port = start()
    header = base64.b64encode(json.dumps({"claims": 5}).encode()).decode()
    assert request(port, "GET", "/api/invoices/2026-10", {"X-MS-CLIENT-PRINCIPAL": header})[0] == 401


def test_serve_refuses_a_non_loopback_host_while_any_route_trusts_the_header(month_loaded, capsys):
    from devhost.cli import main
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert main(["serve", "--host", "0.0.0.0", "--port", str(port)]) == 2  # noqa: S104
    assert "loopback" in capsys.readouterr().err
