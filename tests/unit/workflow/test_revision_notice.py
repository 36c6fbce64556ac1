"""A revised invoice's notice (issue 13): the month by name, the earlier total, the difference and why
(from both runs' priced months), and a Reply-To contact from CHARGEBACK_NOTICE_REPLY_TO."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from email import message_from_bytes, policy

from chargeback.notices.render import body_text, chat_text, email_message, month_name
from chargeback.settings import Settings
from chargeback.usage.meters import MeterQuantities
from chargeback.workflow.invoicing import department_charges
from chargeback.workflow.notifying import notify_department_step

from .test_notifications import CHARGES, FakeChannel, FakeStores, context, invoice


class TwoRuns(FakeStores):
    """run-1 priced marketing's gpt-4o with fewer tokens (usage that arrived later is in run-2)."""

    def get_json(self, container, name):
        doc = super().get_json(container, name)
        if "/run-1/" in name and "/marketing.json" in name:
            dept = CHARGES.department("marketing")
            first = replace(dept.lines[0], meters=MeterQuantities(input=1), amount=Decimal("0.00"))
            earlier = replace(dept, lines=(first, *dept.lines[1:]), total=Decimal("110.00"))
            doc["charges"] = department_charges(replace(CHARGES, departments=(earlier,)), "marketing").to_dict()
        elif "/marketing.json" in name:
            dept = CHARGES.department("marketing")
            later = replace(dept.lines[0], meters=MeterQuantities(input=5))
            doc["charges"] = department_charges(replace(CHARGES, departments=(
                replace(dept, lines=(later, *dept.lines[1:])),)), "marketing").to_dict()
        return doc


def test_months_are_named():
    assert (month_name("2026-11"), month_name("2027-01")) == ("November 2026", "January 2027")


def revised_notice(reply_to: str = "platform-billing@example.com"):
    email = FakeChannel()
    ctx, _ = context(TwoRuns(), email)
    ctx.settings = replace(ctx.settings, notice_reply_to=reply_to)
    notify_department_step(ctx, "2026-10", "run-2", invoice(version=2))
    return email.sent[0][0]


def test_a_revision_says_the_earlier_total_the_difference_and_why():
    notice = revised_notice()
    assert (notice.previous_total, notice.total, notice.reason) == (Decimal("110.00"), Decimal("113.02"), "late usage")
    body = body_text(notice)
    assert "for October 2026 was revised (version 2 replaces version 1)" in body
    assert "Earlier total: 110.00 USD; difference: +3.02 USD\nWhy: late usage." in body
    assert "Why: late usage." in chat_text(notice) and "+3.02 USD" in chat_text(notice)


def test_the_reply_to_contact_is_a_header_and_a_line():
    notice = revised_notice()
    parsed = message_from_bytes(email_message(notice, "cb@example.com", ("a@example.com",)).as_bytes(),
                                policy=policy.default)
    assert parsed["Reply-To"] == "platform-billing@example.com"
    assert "write to platform-billing@example.com" in parsed.get_content()
    unset = revised_notice(reply_to="")
    assert email_message(unset, "cb@example.com", ("a@example.com",))["Reply-To"] is None
    assert "Questions:" not in body_text(unset)


def test_the_setting_is_read_from_the_environment():
    assert Settings.from_env({"CHARGEBACK_NOTICE_REPLY_TO": " help@example.com "}).notice_reply_to == "help@example.com"
