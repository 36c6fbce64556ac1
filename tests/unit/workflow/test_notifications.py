"""Notices: what they say, when they are due, retries and records (fake stores and channels)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from chargeback.billing.charges import DepartmentCharges, MonthCharges, PaygLine, PoolLine
from chargeback.config.loading import parse_config
from chargeback.errors import DeliveryFailed
from chargeback.notices.render import Notice, chat_text, email_message, subject, webhook_payload
from chargeback.settings import Settings
from chargeback.workflow.invoicing import department_charges
from chargeback.workflow.notifying import NotifyContext, deployment_amounts, notify_department_step, summarize_notices

CONFIG = parse_config("""
currency: USD
departments:
  - {id: marketing, name: Marketing, cost_center: CC-1, owners: [alice@example.com],
     notify: {email: [alice@example.com, ann@example.com], webhook: "https://hooks.example.com/T0/B0/secret"},
     subscriptions: [sub-mkt]}
  - {id: legal, name: Legal, cost_center: CC-2, owners: [lee@example.com], subscriptions: [sub-legal]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, output: 10.00}
""")


def payg(deployment: str, amount: str) -> PaygLine:
    return PaygLine(subscription="sub-mkt", deployment=deployment, models=(deployment,),
                    period_start=date(2026, 10, 1), period_end=date(2026, 10, 31), unit="1M",
                    input_rate=Decimal("2.50"), cached_input_rate=Decimal("1.25"), output_rate=Decimal(10),
                    requests=1, unmetered=0, prompt_tokens=1, cached_tokens=0, completion_tokens=1,
                    reasoning_tokens=0, exact_amount=Decimal(amount), amount=Decimal(amount))


def pool(deployment: str, amount: str) -> PoolLine:
    return PoolLine(pool=deployment, period_start=date(2026, 10, 1), period_end=date(2026, 10, 31),
                    subscriptions=("sub-mkt",), models=(deployment,), requests=1, unmetered=0, prompt_tokens=1,
                    cached_tokens=0, completion_tokens=1, reasoning_tokens=0, weighted_tokens=Decimal(1),
                    pool_weighted_tokens=Decimal(2), share=Decimal("0.5"), pool_cost=Decimal(200),
                    amount=Decimal(amount))


# Marketing: gpt-4o in two price periods (3.00 + 1.25 = 4.25), a pool share of 100.27, o1 at 7.10, ada at 0.40.
LINES = (payg("gpt-4o", "3.00"), pool("gpt-4o-ptu", "100.27"), payg("o1", "7.10"), payg("gpt-4o", "1.25"),
         payg("ada", "0.40"))
CHARGES = MonthCharges(
    month="2026-10", currency="USD", minor_unit=2, markup_percent=Decimal(0), config_fingerprint=CONFIG.fingerprint(),
    departments=(DepartmentCharges("marketing", "Marketing", "CC-1", LINES, Decimal("113.02"), Decimal(0),
                                   Decimal("113.02")),
                 DepartmentCharges("legal", "Legal", "CC-2", (), Decimal(0), Decimal(0), Decimal(0)),
                 DepartmentCharges("unallocated", "Unallocated", "", (), Decimal(5), Decimal(0), Decimal(5))),
    pools=(), unpriced=(), warnings=(), grand_total=Decimal("118.02"))


def invoice(department="marketing", version=1, changed=True, total="113.02", revision=None):
    return {"department": department, "name": department.title(), "total": total, "currency": "USD",
            "version": version, "revision": version > 1 if revision is None else revision, "changed": changed,
            "invoice_number": f"CB-2026-10-{department.upper()}-{version}"}


@dataclass
class Version:
    version: int
    total: Decimal
    run_id: str = "run-1"


class FakeStores:
    """The stores the step reads (documents, config, index) and the notice records, in memory."""

    def __init__(self):
        self.records = {}
        self.versions = [Version(1, Decimal("110.00")), Version(2, Decimal("113.02"))]

    def get_json(self, container, name):
        assert name.startswith("2026-10/run-") and "/departments/" in name and name.endswith(".json")
        department = name.rsplit("/", 1)[1][:-len(".json")]
        return {"charges": department_charges(CHARGES, department).to_dict(), "daily": []}

    def get(self, fingerprint):
        return CONFIG if fingerprint == CONFIG.fingerprint() else None

    def notice(self, month, department, version, channel):
        return self.records.get((month, department, version, channel))

    def record(self, record):
        self.records[(record.month, record.department, record.version, record.channel)] = record


class FakeChannel:
    def __init__(self, failures=()):
        self.failures = list(failures)   # exceptions raised by the first calls, in order
        self.sent = []

    def deliver(self, notice, target):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((notice, target))


def context(stores, email=None, webhook=None, attempts=3, backoff=0.5):
    pauses = []
    notices = type("Notices", (), {"get": lambda s, *k: stores.notice(*k), "record": lambda s, r: stores.record(r)})()
    index = type("Index", (), {"versions": lambda s, m, d: stores.versions})()
    ctx = NotifyContext(settings=Settings(public_url="https://cb.example.com", notify_attempts=attempts,
                                          notify_backoff=backoff),
                        documents=stores, config=stores, index=index, notices=notices,
                        channels={"email": email or FakeChannel(), "webhook": webhook or FakeChannel()},
                        sleep=pauses.append)
    return ctx, pauses


def test_deployment_amounts_add_up_payg_periods_and_pool_shares_largest_first():
    assert deployment_amounts(CHARGES, "marketing") == (
        ("gpt-4o-ptu", Decimal("100.27")), ("o1", Decimal("7.10")), ("gpt-4o", Decimal("4.25")),
        ("ada", Decimal("0.40")))
    assert deployment_amounts(CHARGES, "legal") == ()


def test_first_notice_goes_to_every_channel_once_and_a_replay_sends_nothing():
    stores = FakeStores()
    email, webhook = FakeChannel(), FakeChannel()
    ctx, _ = context(stores, email, webhook)
    first = notify_department_step(ctx, "2026-10", "run-2", invoice())
    assert [(d["channel"], d["status"], d["attempts"]) for d in first["deliveries"]] == [
        ("email", "sent", 1), ("webhook", "sent", 1)]
    assert email.sent[0][1] == ("alice@example.com", "ann@example.com")
    assert webhook.sent[0][1] == "https://hooks.example.com/T0/B0/secret"
    notice = email.sent[0][0]
    assert notice.link == "https://cb.example.com/api/invoices/2026-10/marketing"
    assert notice.total == Decimal("113.02") and not notice.revision
    replay = notify_department_step(ctx, "2026-10", "run-2", invoice())
    assert [d["status"] for d in replay["deliveries"]] == ["already sent", "already sent"]
    assert len(email.sent) == 1 and len(webhook.sent) == 1


def test_a_revision_names_the_total_it_replaces():
    stores = FakeStores()
    email = FakeChannel()
    ctx, _ = context(stores, email)
    notify_department_step(ctx, "2026-10", "run-2", invoice(version=2))
    notice = email.sent[0][0]
    assert notice.revision and notice.previous_total == Decimal("110.00")
    assert subject(notice) == ("Revised invoice CB-2026-10-MARKETING-2: Marketing, October 2026, 113.02 USD "
                               "(was 110.00 USD)")


def test_transient_failures_are_retried_with_doubling_pauses_then_recorded_as_failed():
    stores = FakeStores()
    webhook = FakeChannel([DeliveryFailed("webhook answered HTTP 503")] * 3)
    ctx, pauses = context(stores, webhook=webhook, attempts=3, backoff=0.5)
    result = notify_department_step(ctx, "2026-10", "run-2", invoice())
    failed = next(d for d in result["deliveries"] if d["channel"] == "webhook")
    assert (failed["status"], failed["attempts"], failed["error"]) == ("failed", 3, "webhook answered HTTP 503")
    assert pauses == [0.5, 1.0]
    assert stores.notice("2026-10", "marketing", 1, "webhook").status == "failed"
    assert stores.notice("2026-10", "marketing", 1, "email").status == "sent"


def test_a_transient_failure_then_success_is_sent_on_the_second_attempt():
    stores = FakeStores()
    email = FakeChannel([DeliveryFailed("SMTP server unreachable: ConnectionRefusedError")])
    ctx, pauses = context(stores, email)
    result = notify_department_step(ctx, "2026-10", "run-2", invoice())
    assert (result["deliveries"][0]["status"], result["deliveries"][0]["attempts"]) == ("sent", 2)
    assert pauses == [0.5]


def test_a_permanent_failure_is_not_retried_and_an_unexpected_error_never_escapes():
    stores = FakeStores()
    email = FakeChannel([DeliveryFailed("SMTP refused: 550 no such user", permanent=True)])
    webhook = FakeChannel([RuntimeError("boom")] * 5)
    ctx, pauses = context(stores, email, webhook, attempts=2)
    result = notify_department_step(ctx, "2026-10", "run-2", invoice())
    by_channel = {d["channel"]: d for d in result["deliveries"]}
    assert (by_channel["email"]["status"], by_channel["email"]["attempts"]) == ("failed", 1)
    assert (by_channel["webhook"]["status"], by_channel["webhook"]["attempts"]) == ("failed", 2)
    assert by_channel["webhook"]["error"] == "RuntimeError while sending"
    assert pauses == [0.5]   # only the webhook paused, once, between its two attempts


def test_an_unchanged_invoice_sends_only_what_was_never_sent():
    stores = FakeStores()
    email = FakeChannel()
    ctx, _ = context(stores, email, FakeChannel([DeliveryFailed("HTTP 500")] * 3))
    notify_department_step(ctx, "2026-10", "run-2", invoice())            # email sent, webhook failed
    ctx.channels["webhook"] = healed = FakeChannel()
    again = notify_department_step(ctx, "2026-10", "run-3", invoice(changed=False))
    assert {d["channel"]: d["status"] for d in again["deliveries"]} == {"webhook": "sent"}
    assert len(healed.sent) == 1 and len(email.sent) == 1
    quiet = notify_department_step(ctx, "2026-10", "run-4", invoice(changed=False))
    assert quiet["deliveries"] == [] and quiet["skipped"] == "invoice unchanged"
    assert len(healed.sent) == 1 and len(email.sent) == 1


def test_notices_storage_lost_during_the_notify_step_are_sent_by_the_next_run_though_unchanged():
    """Issue 11: storage failed while notifying, the run ended "notices not sent", the rerun found the
    invoices unchanged and skipped them: 0 of the owed mails were ever sent."""
    from chargeback.errors import StorageUnavailable
    stores = FakeStores()
    email, webhook = FakeChannel(), FakeChannel()
    ctx, _ = context(stores, email, webhook)
    working = ctx.notices

    class StorageDown:
        def get(self, *key):
            raise StorageUnavailable("storage failed while reading a notice delivery: ServiceRequestError")
    ctx.notices = StorageDown()
    with pytest.raises(StorageUnavailable):
        notify_department_step(ctx, "2026-10", "run-2", invoice())
    assert email.sent == [] and webhook.sent == []
    ctx.notices = working
    rerun = notify_department_step(ctx, "2026-10", "run-3", invoice(changed=False))
    assert {d["channel"]: d["status"] for d in rerun["deliveries"]} == {"email": "sent", "webhook": "sent"}
    assert len(email.sent) == len(webhook.sent) == 1


@pytest.mark.parametrize(("department", "reason"), [("unallocated", "not a department"),
                                                    ("legal", "no notify settings"), ("gone", "no notify settings")])
def test_departments_nobody_listens_for_are_skipped(department, reason):
    stores = FakeStores()
    email, webhook = FakeChannel(), FakeChannel()
    ctx, _ = context(stores, email, webhook)
    result = notify_department_step(ctx, "2026-10", "run-2", invoice(department))
    assert result["skipped"] == reason and result["deliveries"] == []
    assert email.sent == webhook.sent == [] and stores.records == {}


NOTICE = Notice(month="2026-10", department="marketing", name="Marketing\r\nBcc: evil@example.com",
                total=Decimal("1234.50"), currency="USD", version=1, revision=False,
                invoice_number="CB-2026-10-MARKETING-1", link="https://cb.example.com/api/invoices/2026-10/marketing",
                portal="https://cb.example.com/api/portal",
                deployments=(("gpt-4o-ptu", Decimal("1000.00")), ("o1", Decimal("200.00")),
                             ("gpt-4o", Decimal("34.00")), ("ada", Decimal("0.50"))))


def test_the_email_says_month_total_top_deployments_and_link_and_names_cannot_inject_headers():
    message = email_message(NOTICE, "chargeback@contoso.com", ("alice@example.com", "ann@example.com"))
    assert message["Subject"] == ("Invoice CB-2026-10-MARKETING-1: Marketing Bcc: evil@example.com, October 2026, "
                                  "1,234.50 USD")
    assert message["Bcc"] is None
    assert message["To"] == "alice@example.com, ann@example.com"
    assert message["Message-ID"] == "<CB-2026-10-MARKETING-1.marketing@contoso.com>"
    body = message.get_content()
    assert "- gpt-4o-ptu: 1,000.00 USD\n- o1: 200.00 USD\n- gpt-4o: 34.00 USD\n- 1 more in the workbook" in body
    assert "https://cb.example.com/api/invoices/2026-10/marketing" in body and "ada" not in body


def test_the_webhook_payload_is_one_text_field_slack_and_teams_accept():
    payload = webhook_payload(NOTICE)
    assert list(payload) == ["text"]
    assert payload["text"] == chat_text(NOTICE)
    assert "Total: 1,234.50 USD." in payload["text"] and payload["text"].endswith(
        "Download: https://cb.example.com/api/invoices/2026-10/marketing")


def test_summary_counts_deliveries_by_status_and_lists_skips():
    results = [
        {"department": "marketing", "version": 2, "revision": True, "skipped": "",
         "deliveries": [{"channel": "email", "status": "sent", "attempts": 1, "error": ""},
                        {"channel": "webhook", "status": "failed", "attempts": 3, "error": "HTTP 500"}]},
        {"department": "sales", "version": 1, "revision": False, "skipped": "",
         "deliveries": [{"channel": "email", "status": "already sent", "attempts": 0, "error": ""}]},
        {"department": "unallocated", "version": 1, "revision": False, "skipped": "not a department",
         "deliveries": []}]
    summary = summarize_notices(results)
    assert (summary["sent"], summary["already_sent"], summary["failed"]) == (1, 1, 1)
    assert summary["skipped"] == {"unallocated": "not a department"}
    assert summary["deliveries"][1] == {"department": "marketing", "version": 2, "revision": True,
                                        "channel": "webhook", "status": "failed", "attempts": 3, "error": "HTTP 500"}


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\r\n"])
def test_a_name_with_a_unicode_line_break_still_makes_a_sendable_email(separator):
    """Issue 11: such a name (stored before config refused it) made every email notice fail."""
    import email
    from email import policy
    notice = Notice(month="2026-10", department="marketing", name=f"Mark{separator}Bcc: evil@example.com",
                    total=Decimal(1), currency="USD", version=1, revision=False,
                    invoice_number="CB-2026-10-MARKETING-1", link="l", portal="p", deployments=())
    message = email_message(notice, "chargeback@contoso.com", ("alice@example.com",))
    wire = message.as_bytes(policy=policy.SMTP)
    parsed = email.message_from_bytes(wire, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"].strip().startswith("Invoice CB-2026-10-MARKETING-1: Mark Bcc:")
