"""The admin's Rerun button in headless Chromium: a real mouse click on the form's button, the browser's own
Sec-Fetch-Site and Origin headers, the 303 back to the portal, the new status, a screenshot.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ended
by NUL, read on fd 3 and written on fd 4), so no driver or websocket package is needed. Nothing runs in the
page: the click is Input.dispatchMouseEvent at the button's box, the DOM is read with DOM.getOuterHTML.
The server is `chargeback serve`'s (devhost.http_host) behind the sign-in stand-in, as in test_portal_browser.
"""
from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import threading
import time

import pytest

from devhost.dev_signin import SignedInAs
from devhost.http_host import make_server, serve_in_thread
from devhost.local_host import LocalHost
from tests.conftest import require_tool

from .test_portal_browser import ARTIFACTS, BROWSER, FLAGS, png_size
from .test_portal_rerun import ADMIN, form_of, status_cell

WIDTH, HEIGHT = 1200, 1400


class DevTools:
    """One headless Chromium and one page, over the DevTools pipe."""

    def __init__(self, profile):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire():   # in the child, before exec: the pipe's ends on the fds Chromium reads and writes
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)
        self.process = subprocess.Popen(
            [BROWSER, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: PLW1509
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next, self._answers, self.events = 0, {}, queue.Queue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page.enable", "Log.enable", "Runtime.enable"):
            self.call(domain, session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=WIDTH, height=HEIGHT,
                  deviceScaleFactor=1, mobile=False)

    def _read(self):
        buffer = b""
        while chunk := os.read(self._from_browser, 65536):
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._answers[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self.events.put(message)

    def call(self, method: str, session: bool = False, timeout: float = 60, **params):
        with self._cond:
            self._next += 1
            ident = self._next
        message = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        with self._cond:
            assert self._cond.wait_for(lambda: ident in self._answers, timeout), f"no answer to {method}"
            answer = self._answers.pop(ident)
        assert "error" not in answer, (method, answer["error"])
        return answer["result"]

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(event)
            if event["method"] == method:
                return event
        raise AssertionError(f"no {method} within {timeout} s; the page said: {self.console()}")

    seen: list[dict]

    def open(self, url: str) -> None:
        self.seen = []
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def html(self) -> str:
        root = self.call("DOM.getDocument", session=True)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", session=True, nodeId=root)["outerHTML"]

    def click(self, selector: str) -> None:
        """A left click in the middle of the element ``selector`` names, as a user's mouse would."""
        root = self.call("DOM.getDocument", session=True)["root"]["nodeId"]
        node = self.call("DOM.querySelector", session=True, nodeId=root, selector=selector)["nodeId"]
        assert node, f"nothing matches {selector}"
        self.call("DOM.scrollIntoViewIfNeeded", session=True, nodeId=node)
        quad = self.call("DOM.getContentQuads", session=True, nodeId=node)["quads"][0]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        self.seen = []
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path) -> None:
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def console(self) -> str:
        return " ".join(json.dumps(e.get("params", {})) for e in self.seen
                        if e["method"] in ("Log.entryAdded", "Runtime.consoleAPICalled"))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_browser)


@pytest.fixture
def admin_site(month_loaded, monkeypatch):
    """October invoiced once from the command line; runs started later stay Pending until driven."""
    require_tool(BROWSER is not None, "chromium (Debian packages chromium and chromium-driver)")
    monkeypatch.setenv("CHARGEBACK_LOCAL_AUTH", "loopback")
    monkeypatch.delenv("CHARGEBACK_CSRF_KEY", raising=False)
    from chargeback.wiring import reset_services
    reset_services()
    host = LocalHost(background=False)
    assert host.run_month("2026-10", timeout=120)["runtimeStatus"] == "Completed"
    server = make_server(SignedInAs(host.http, ADMIN), "127.0.0.1", 0)
    serve_in_thread(server)
    yield host, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    host.close()


def test_an_admin_clicks_rerun_and_sees_the_run_queued_then_completed(admin_site, tmp_path):
    host, base = admin_site
    first = host.durable.get_status("invoice-2026-10")
    browser = DevTools(tmp_path / "profile")
    try:
        browser.open(f"{base}/api/portal?until=2026-10")
        before = browser.html()
        assert status_cell(before, "2026-10").startswith("completed at ")
        assert "started by" not in status_cell(before, "2026-10")   # the command line's run names nobody
        assert status_cell(before, "2026-09") == "not started"

        browser.click('form[action="/api/portal/months/2026-10/rerun"] button')
        browser.wait_for("Page.loadEventFired")   # the POST, its 303, the portal again
        after = browser.html()
        assert "Content Security Policy" not in browser.console()   # form-action 'self' lets the form post
        assert status_cell(after, "2026-10") == (
            f"queued at {host.durable.get_status('invoice-2026-10')['lastUpdatedTime'][:16].replace('T', ' ')}"
            f" UTC (started by {ADMIN})")
        assert form_of(after, "2026-10")["disabled"] and not form_of(after, "2026-09")["disabled"]
        status = host.durable.get_status("invoice-2026-10")
        assert status["input"] == {"month": "2026-10", "trigger": "portal", "requested_by": ADMIN}
        assert status["createdTime"] != first["createdTime"]   # a new run, not the old one shown again

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "portal-admin-rerun.png"
        shot.unlink(missing_ok=True)
        browser.screenshot(shot)
        assert png_size(shot) == (WIDTH, HEIGHT)

        host.durable.run_until_idle("invoice-2026-10", timeout=120)
        browser.open(f"{base}/api/portal?until=2026-10")
        done = status_cell(browser.html(), "2026-10")
        assert done.startswith("completed at ") and done.endswith(f"(started by {ADMIN})")
    finally:
        browser.close()
