"""The portal in headless Chromium: the page renders, its download link fetches the workbook, a screenshot is kept.

Chromium cannot add X-MS-CLIENT-PRINCIPAL; in Azure App Service authentication does. The test serves the
functions behind devhost.dev_signin.SignedInAs, the local stand-in for that front door, which replaces any
principal the client sends with the signed-in user's (as the platform does).
"""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import BytesIO
from urllib.parse import urljoin

import openpyxl
import pytest

from chargeback.owners.access import InvoiceAccess
from chargeback.owners.identity import Principal
from chargeback.owners.portal import CONTENT_SECURITY_POLICY, render_portal
from devhost.dev_signin import SignedInAs
from devhost.http_host import make_server, serve_in_thread
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost
from tests.conftest import ROOT, require_tool

from .conftest import OCTOBER

ARTIFACTS = ROOT / "test-artifacts"
BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         # Offline: any host but the local server fails to resolve, so an external resource could not load.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def in_month(line: str, month: str, suffix: str) -> str:
    event = json.loads(line)
    event["timestamp"] = month + event["timestamp"][7:]
    event["requestId"] += suffix
    return json.dumps(event)


class Links(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.found, self._href, self._text = [], None, ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.found.append((" ".join(self._text.split()), self._href))
            self._href = None


@pytest.fixture
def served(month_loaded, monkeypatch):
    """Three months invoiced; a server per user behind the sign-in stand-in. Yields {email: base URL}."""
    require_tool(BROWSER is not None, "chromium (Debian packages chromium and chromium-driver)")
    monkeypatch.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
    from chargeback.wiring import reset_services
    reset_services()
    ingest_lines([in_month(line, "2026-09", "-sep") for line in OCTOBER] +
                 [in_month(line, "2026-08", "-aug") for line in OCTOBER[:2]])   # August: no pool use
    host = LocalHost(retry_delay_scale=0.001)
    for month in ("2026-08", "2026-09", "2026-10"):
        assert host.run_month(month, timeout=120)["runtimeStatus"] == "Completed"
    servers, bases = [], {}
    for email in ("alice@example.com", "finance@example.com"):
        server = make_server(SignedInAs(host.http, email), "127.0.0.1", 0)
        serve_in_thread(server)
        servers.append(server)
        bases[email] = f"http://127.0.0.1:{server.server_address[1]}"
    yield bases
    for server in servers:
        server.shutdown()
        server.server_close()
    host.close()


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120, check=True)


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_an_owner_opens_the_portal_and_its_link_downloads_her_workbook(served, tmp_path):
    page = f"{served['alice@example.com']}/api/portal?until=2026-10"
    shown = chromium(tmp_path, "--dump-dom", page)
    assert "Content Security Policy" not in shown.stderr   # the inline style is the one the policy allows
    assert 'lang="en"' in shown.stdout and "Signed in as alice@example.com" in shown.stdout
    links = dict(Links(shown.stdout).found)
    assert set(links) == {"Download Marketing invoice for 2026-10 (xlsx)",
                          "Download Marketing invoice for 2026-09 (xlsx)",
                          "Download Marketing invoice for 2026-08 (xlsx)"}   # nothing of Sales

    with urllib.request.urlopen(urljoin(page, links["Download Marketing invoice for 2026-10 (xlsx)"]),
                                timeout=30) as response:
        assert response.headers["Content-Disposition"] == 'attachment; filename="CB-2026-10-MARKETING-1.xlsx"'
        workbook = openpyxl.load_workbook(BytesIO(response.read()))
    text = " ".join(str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert "CB-2026-10-MARKETING-1" in text and "Marketing" in text
    # issue 13: the latest invoice by deployment (pool share 100.27 + gpt-4o 3.25 = 103.52, conftest.py) and
    # against the month before (September: the same usage, so the same total)
    assert "Marketing, 2026-10: cost by deployment and meter" in shown.stdout
    assert "100.27 USD" in shown.stdout and "3.25 USD" in shown.stdout
    assert "Against 2026-09 (103.52 USD): the same total." in shown.stdout

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "portal-owner.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1300", page)
    assert png_size(shot) == (1200, 1300)


def test_an_admin_sees_every_department_and_the_chart_of_all_of_them(served, tmp_path):
    page = f"{served['finance@example.com']}/api/portal?until=2026-10"
    shown = chromium(tmp_path, "--dump-dom", page)
    links = [text for text, _ in Links(shown.stdout).found]
    assert "Download Sales invoice for 2026-10 (xlsx)" in links
    assert "Download Marketing invoice for 2026-08 (xlsx)" in links
    # October's bar: marketing 103.52 + sales 201.23 = 304.75 (tests/e2e/conftest.py).
    assert "<title>2026-10: 304.75 USD (Marketing 103.52, Sales 201.23)</title>" in shown.stdout
    # issue 13: every department side by side, sorted on the server (no script under the CSP)
    assert "Every department" in shown.stdout and shown.stdout.index("#d-marketing") < shown.stdout.index("#d-sales")
    by_total = chromium(tmp_path, "--dump-dom", page + "&sort=total").stdout
    assert by_total.index('href="#d-sales"') < by_total.index('href="#d-marketing"')   # 201.23 before 103.52
    # issue 13: the operations panels; a dead letter counts in the month it was recorded (now)
    assert "No dead letters recorded in 2026-10." in shown.stdout
    exports = {text: href for text, href in Links(shown.stdout).found if "2026-10 (" in text and "invoice" not in text}
    assert set(exports) == {"Finance summary for 2026-10 (xlsx)", "FOCUS export for 2026-10 (csv)",
                            "FOCUS metadata for 2026-10 (json)"}
    with urllib.request.urlopen(urljoin(page, exports["FOCUS export for 2026-10 (csv)"]), timeout=30) as response:
        assert response.headers["Content-Disposition"] == 'attachment; filename="chargeback-2026-10-focus.csv"'
        assert b"BilledCost" in response.read()
    with urllib.request.urlopen(urljoin(page, exports["Finance summary for 2026-10 (xlsx)"]), timeout=30) as response:
        assert openpyxl.load_workbook(BytesIO(response.read())).worksheets
    with urllib.request.urlopen(urljoin(page, exports["FOCUS metadata for 2026-10 (json)"]), timeout=30) as response:
        assert json.loads(response.read())["FocusVersion"] == "1.2"
    owner = f"{served['alice@example.com']}{exports['FOCUS export for 2026-10 (csv)']}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(owner, timeout=30)
    assert refused.value.code == 403
    # August used no pool, so its 300.00 went to unallocated; the newest month unallocated was priced
    assert ('<th scope="row">2026-08</th><td>CB-2026-08-UNALLOCATED-1</td><td class="num">300.00 USD</td>'
            in shown.stdout[shown.stdout.index("Unallocated usage"):])
    assert ingest_lines(["{not json"]).stored == 0
    now = f"{served['finance@example.com']}/api/portal?until={datetime.now(UTC):%Y-%m}"
    current = chromium(tmp_path, "--dump-dom", now).stdout
    assert "<strong>1</strong> dead letter recorded:" in current and "body is not JSON" in current
    assert "Every department" in current and "Dead letters in" in current
    assert "<strong>1</strong>" not in shown.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "portal-admin.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", now)
    assert png_size(shot) == (1200, 1600)


def serve_once(html: str, policy: str) -> tuple[HTTPServer, str]:
    """A loopback server answering every GET with ``html`` under ``policy`` (no storage, no sign-in)."""
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/portal"


@pytest.mark.parametrize(("style_changed", "refused"), [(False, False), (True, True)])
def test_chromium_applies_the_portal_style_under_its_policy_and_refuses_a_changed_one(tmp_path, style_changed,
                                                                                    refused):
    """The control for the check above: the same check sees Chromium refuse a style the policy does not name."""
    require_tool(BROWSER is not None, "chromium (Debian packages chromium and chromium-driver)")
    html = render_portal(InvoiceAccess(Principal("carol@example.com", frozenset()), False, frozenset()), [],
                         ["2026-10"])
    if style_changed:   # what an injected or edited style looks like to the policy
        html = html.replace("<style>", "<style>main{color:red}", 1)
    server, url = serve_once(html, CONTENT_SECURITY_POLICY)
    try:
        shown = chromium(tmp_path, "--dump-dom", url)
    finally:
        server.shutdown()
        server.server_close()
    assert "No departments yet" in shown.stdout
    assert ("Content Security Policy" in shown.stderr) is refused
