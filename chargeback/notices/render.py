"""What an invoice notice says: the email (subject, body, headers) and the webhook's chat message."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from chargeback.money import format_money
from chargeback.months import MONTH_NAMES, year_and_month

TOP = 3  # deployments a notice names; the workbook has the rest


@dataclass(frozen=True)
class Notice:
    """One department's invoice of a month, as its owners hear about it."""

    month: str
    department: str
    name: str
    total: Decimal
    currency: str
    version: int
    revision: bool
    invoice_number: str
    link: str                                        # the download route (sign-in required)
    portal: str                                      # the portal page
    deployments: tuple[tuple[str, Decimal], ...]     # (deployment, amount), largest first, all of them
    previous_total: Decimal | None = None            # the replaced version's total, for a revision
    reason: str = ""                                 # why it was revised ("late usage, a price change")
    contact: str = ""                                # Reply-To: who answers questions (a setting)


money = format_money   # the one money formatter (chargeback.money)


def _plain(text: str) -> str:
    # Names come from config: no control characters into a header or a chat message. Config refuses them
    # too; this keeps a name stored before that check from failing every email (U+0085, U+2028 and U+2029
    # are line breaks to Python's email package: str.splitlines).
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text).strip()


def month_name(month: str) -> str:
    """``"2026-11"`` as ``"November 2026"`` (English whatever the locale: chargeback.months)."""
    year, number = year_and_month(month)
    return f"{MONTH_NAMES[number - 1]} {year}"


def subject(n: Notice) -> str:
    what = "Revised invoice" if n.revision else "Invoice"
    was = f" (was {money(n.previous_total, n.currency)})" if n.revision and n.previous_total is not None else ""
    return _plain(f"{what} {n.invoice_number}: {n.name}, {month_name(n.month)}, {money(n.total, n.currency)}{was}")


def headline(n: Notice) -> str:
    if n.revision:
        replaced = f" (version {n.version} replaces version {n.version - 1})" if n.version > 1 else ""
        return _plain(f"The Azure OpenAI invoice of {n.name} for {month_name(n.month)} was revised{replaced}.")
    return _plain(f"The Azure OpenAI invoice of {n.name} for {month_name(n.month)} is ready.")


def revision_lines(n: Notice) -> list[str]:
    """A revision: the earlier total, the difference and why."""
    if not n.revision or n.previous_total is None:
        return []
    difference = n.total - n.previous_total
    sign = "+" if difference > 0 else ""
    lines = [f"Earlier total: {money(n.previous_total, n.currency)}; difference: {sign}{money(difference, n.currency)}"]
    return [*lines, _plain(f"Why: {n.reason}.")] if n.reason else lines


def contact_line(n: Notice) -> list[str]:
    return [f"Questions: reply to this message or write to {_plain(n.contact)}.", ""] if n.contact else []


def top_lines(n: Notice) -> list[str]:
    lines = [f"- {_plain(d)}: {money(a, n.currency)}" for d, a in n.deployments[:TOP]]
    if len(n.deployments) > TOP:
        lines.append(f"- {len(n.deployments) - TOP} more in the workbook")
    return lines or ["- no charged usage this month"]


def body_text(n: Notice) -> str:
    total = f"Total: {money(n.total, n.currency)}"
    if n.revision and n.previous_total is not None:
        total += f" (was {money(n.previous_total, n.currency)})"
    return "\n".join([
        "Hello,", "", headline(n), "", total, *revision_lines(n), f"Invoice: {n.invoice_number}", "",
        "Top deployments:", *top_lines(n), "",
        "Download the workbook (sign in with your work account):", n.link, "",
        f"All your invoices: {n.portal}", "", *contact_line(n),
        "This message was sent automatically by the chargeback service.", ""])


def chat_text(n: Notice) -> str:
    """Plain text with markdown-style list lines: Slack and Teams incoming webhooks both render it."""
    total = f"Total: {money(n.total, n.currency)}"
    if n.revision and n.previous_total is not None:
        total += f" (was {money(n.previous_total, n.currency)})"
    return "\n\n".join([headline(n), f"{total}. Invoice {n.invoice_number}.", *revision_lines(n),
                        "Top deployments:\n" + "\n".join(top_lines(n)), f"Download: {n.link}",
                        *(line for line in contact_line(n) if line)])


def webhook_payload(n: Notice) -> dict[str, str]:
    return {"text": chat_text(n)}


def notice_id(n: Notice, channel: str) -> str:
    """One id per invoice version and channel, the same on every retry: at-least-once delivery may send a
    notice twice, and this is what lets a mail client (or a webhook receiver) fold the duplicate."""
    base = f"{n.invoice_number}.{n.department}"
    return base if channel == "email" else f"{base}.{channel}"   # email: the id notices have always had


def email_message(n: Notice, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """The email; its Message-ID is stable per invoice version, so a duplicate collapses in mail clients."""
    message = EmailMessage()
    message["Subject"] = subject(n)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"   # "Team <cb@x.example>" too
    message["Message-ID"] = f"<{notice_id(n, 'email')}@{domain}>"
    if n.contact:
        message["Reply-To"] = _plain(n.contact)
    message["Auto-Submitted"] = "auto-generated"   # RFC 3834: no out-of-office replies, please
    message["X-Chargeback-Invoice"] = n.invoice_number
    message.set_content(body_text(n))
    return message
