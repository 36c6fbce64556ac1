"""Notices from a whole month: a real SMTP server (aiosmtpd) and a real HTTP webhook receive them."""
from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chargeback.config.loading import parse_config
from chargeback.errors import DeliveryFailed
from chargeback.notices.channels import SmtpMailer, WebhookPoster
from chargeback.notices.render import Notice
from chargeback.settings import Settings
from chargeback.storage.notice_store import DeliveryRecord
from devhost.functions import user_function
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost
from devhost.outbox import LocalOutbox

from .conftest import CONFIG, LATE

PUBLIC = "https://chargeback.example.com"


class Webhook:
    """A real HTTP server standing in for a Teams/Slack incoming webhook; answers ``status``."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.posts.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                   "json": json.loads(body)})
                self.send_response(hook.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sales-secret"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def outbox(tmp_path):
    box = LocalOutbox(tmp_path / "outbox")
    box.start()
    yield box
    box.stop()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def notifying(month_loaded, outbox, webhook, monkeypatch):
    """Sales also has a webhook; SMTP points at the outbox; retries pause 10 ms. Returns a factory of hosts."""
    monkeypatch.setenv("CHARGEBACK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CHARGEBACK_SMTP_PORT", str(outbox._controller.port))
    monkeypatch.setenv("CHARGEBACK_SMTP_FROM", "chargeback@example.com")
    monkeypatch.setenv("CHARGEBACK_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("CHARGEBACK_NOTIFY_BACKOFF_SECONDS", "0.01")
    from chargeback.wiring import reset_services, services
    reset_services()
    config = CONFIG.replace("notify: {email: [bob@example.com], webhook: null}",
                            f"notify: {{email: [bob@example.com], webhook: '{webhook.url}'}}")
    services().config.save(parse_config(config))
    hosts = []

    def start() -> LocalHost:
        hosts.append(LocalHost(retry_delay_scale=0.001))
        return hosts[-1]

    yield start
    for host in hosts:
        host.close()


def run(host, month="2026-10") -> dict:
    status = host.run_month(month, timeout=120)
    assert status["runtimeStatus"] == "Completed", status.get("output")
    return status["output"]


def text(message) -> str:
    return message.get_content().replace("\r\n", "\n")   # SMTP carries CRLF line ends


def by_recipient(messages) -> dict:
    return {m["To"]: m for m in messages}


def test_first_run_notifies_each_department_once_and_an_unchanged_rerun_sends_nothing(notifying, outbox, webhook):
    host = notifying()
    output = run(host)
    mails = by_recipient(outbox.messages())
    assert set(mails) == {"alice@example.com", "bob@example.com"}
    alice = mails["alice@example.com"]
    assert alice["Subject"] == "Invoice CB-2026-10-MARKETING-1: Marketing, October 2026, 103.52 USD"
    assert alice["From"] == "chargeback@example.com"
    body = text(alice)
    # Marketing's lines (tests/e2e/conftest.py): its pool share 100.27 before its PAYG 3.25.
    assert "- gpt-4o-ptu: 100.27 USD\n- gpt-4o: 3.25 USD" in body
    assert f"{PUBLIC}/api/invoices/2026-10/marketing" in body
    assert "Total: 201.23 USD" in text(mails["bob@example.com"])

    assert len(webhook.posts) == 1
    post = webhook.posts[0]
    assert post["path"] == "/hooks/sales-secret" and post["type"].startswith("application/json")
    assert list(post["json"]) == ["text"]
    assert "Sales for October 2026 is ready" in post["json"]["text"] and "Total: 201.23 USD" in post["json"]["text"]
    assert f"Download: {PUBLIC}/api/invoices/2026-10/sales" in post["json"]["text"]
    assert (output["notices"]["sent"], output["notices"]["failed"]) == (3, 0)

    again = run(host)
    assert len(outbox.files()) == 2 and len(webhook.posts) == 1
    assert again["notices"]["sent"] == 0
    assert again["notices"]["skipped"] == {"marketing": "invoice unchanged", "sales": "invoice unchanged"}


def test_late_usage_sends_one_revised_notice_to_the_department_it_changed(notifying, outbox, webhook):
    host = notifying()
    run(host)
    ingest_lines(LATE)
    output = run(host)
    messages = outbox.messages()
    assert len(messages) == 3 and len(webhook.posts) == 2
    revised = messages[-1]
    assert revised["To"] == "bob@example.com"
    assert revised["Subject"] == "Revised invoice CB-2026-10-SALES-2: Sales, October 2026, 202.23 USD (was 201.23 USD)"
    assert "version 2 replaces version 1" in text(revised)
    assert "Earlier total: 201.23 USD; difference: +1.00 USD\nWhy: late usage." in text(revised)
    assert "Total: 202.23 USD (was 201.23 USD)" in webhook.posts[-1]["json"]["text"]
    sent = [(d["department"], d["channel"], d["version"], d["revision"], d["status"])
            for d in output["notices"]["deliveries"]]
    assert sent == [("sales", "email", 2, True, "sent"), ("sales", "webhook", 2, True, "sent")]
    assert output["notices"]["skipped"] == {"marketing": "invoice unchanged"}


def test_a_failing_webhook_is_retried_recorded_and_the_month_completes_then_the_next_run_delivers_it(
        notifying, outbox, webhook, month_loaded):
    webhook.status = 500
    host = notifying()
    output = run(host)
    assert output["grand_total"] == "304.75" and len(outbox.files()) == 2
    failed = [d for d in output["notices"]["deliveries"] if d["status"] == "failed"]
    assert failed == [{"department": "sales", "version": 1, "revision": False, "channel": "webhook",
                       "status": "failed", "attempts": 3, "error": "webhook answered HTTP 500"}]
    assert len(webhook.posts) == 3   # three attempts reached the server
    from chargeback.wiring import services
    records = {r.channel: r.status for r in services().notices.department("2026-10", "sales")}
    assert records == {"email": "sent", "webhook": "failed"}

    webhook.status = 200
    again = run(host)   # nothing changed, but the failed delivery is due
    assert len(webhook.posts) == 4 and len(outbox.files()) == 2
    assert [(d["department"], d["channel"], d["status"]) for d in again["notices"]["deliveries"]] == [
        ("sales", "webhook", "sent")]


def test_an_smtp_server_that_is_down_fails_the_emails_not_the_month(notifying, outbox, webhook, monkeypatch):
    monkeypatch.setenv("CHARGEBACK_SMTP_PORT", str(closed_port()))
    from chargeback.wiring import reset_services
    reset_services()
    output = run(notifying())
    emails = [d for d in output["notices"]["deliveries"] if d["channel"] == "email"]
    assert [(d["department"], d["status"], d["attempts"]) for d in emails] == [
        ("marketing", "failed", 3), ("sales", "failed", 3)]
    assert all(d["error"].startswith("SMTP server unreachable") for d in emails)
    assert {i["department"]: i["total"] for i in output["invoices"]} == {"marketing": "103.52", "sales": "201.23"}
    assert len(webhook.posts) == 1 and outbox.files() == []


def test_a_replayed_activity_does_not_send_twice(notifying, outbox, webhook):
    output = run(notifying())
    notify = user_function("notify_department")
    sales = next(i for i in output["invoices"] if i["department"] == "sales")
    [replay] = notify(request={"month": "2026-10", "run_id": output["run_id"], "invoices": [sales]})
    assert [d["status"] for d in replay["deliveries"]] == ["already sent", "already sent"]
    assert len(outbox.files()) == 2 and len(webhook.posts) == 1


NOTICE = Notice(month="2026-10", department="sales", name="Sales", total=Decimal("1.00"), currency="USD", version=1,
                revision=False, invoice_number="CB-2026-10-SALES-1", link="l", portal="p", deployments=())


def test_smtp_options_that_the_server_cannot_honour_are_permanent_failures(outbox):
    port = outbox._controller.port
    with pytest.raises(DeliveryFailed) as starttls:
        SmtpMailer(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=True)).deliver(NOTICE, ("b@x.com",))
    assert starttls.value.permanent
    with pytest.raises(DeliveryFailed) as login:
        SmtpMailer(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_user="u", smtp_password="hunter2")).deliver(
            NOTICE, ("b@x.com",))
    assert login.value.permanent and "hunter2" not in str(login.value)
    with pytest.raises(DeliveryFailed) as unset:
        SmtpMailer(Settings()).deliver(NOTICE, ("b@x.com",))
    assert unset.value.permanent and "CHARGEBACK_SMTP_HOST" in str(unset.value)
    assert outbox.files() == []


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (400, True), (429, False), (503, False)])
def test_webhook_answers_are_told_apart_and_the_url_is_never_quoted(webhook, status, permanent):
    webhook.status = status
    with pytest.raises(DeliveryFailed) as failed:
        WebhookPoster().deliver(NOTICE, webhook.url)
    assert failed.value.permanent is permanent and str(failed.value) == f"webhook answered HTTP {status}"
    assert "secret" not in str(failed.value)


def test_the_notice_store_keeps_one_record_per_version_and_channel(app_services):
    store = app_services.notices
    at = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    first = DeliveryRecord("2026-10", "sales", 1, "webhook", "failed", 3, "r1", at, error="HTTP 500")
    store.record(first)
    store.record(DeliveryRecord("2026-10", "sales", 1, "email", "sent", 1, "r1", at))
    store.record(DeliveryRecord("2026-10", "sales", 1, "webhook", "sent", 1, "r2", at))   # replaces the failure
    store.record(DeliveryRecord("2026-10", "sales", 2, "email", "sent", 1, "r3", at, revision=True))
    assert store.get("2026-10", "sales", 1, "webhook").run_id == "r2"
    assert store.get("2026-10", "marketing", 1, "email") is None
    assert [(r.version, r.channel, r.status, r.revision) for r in store.department("2026-10", "sales")] == [
        (1, "email", "sent", False), (1, "webhook", "sent", False), (2, "email", "sent", True)]
    assert store.get("2026-10", "sales", 2, "email").at == at


def test_when_the_notify_activity_itself_keeps_failing_the_month_still_completes(notifying, outbox, monkeypatch):
    import chargeback.workflow.notifying as notifications
    from chargeback.errors import StorageUnavailable
    calls = []

    def storage_down(ctx, month, run_id, invoice, config_fingerprint=None):
        calls.append(invoice["department"])
        raise StorageUnavailable("storage failed while reading a notice delivery: ServiceRequestError")

    monkeypatch.setattr(notifications, "notify_department_step", storage_down)
    output = run(notifying())
    assert output["notices"]["error"].startswith("notices not sent:")
    assert {i["department"]: i["total"] for i in output["invoices"]} == {"marketing": "103.52", "sales": "201.23"}
    assert len(calls) >= 4 and outbox.files() == []   # the activity was retried (4 attempts) before giving up
