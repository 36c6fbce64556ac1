"""What a budget alert says: month to date (or the forecast) against a department's budget (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from chargeback.money import format_money
from chargeback.months import month_bounds

FORECAST = "budget-forecast"


def threshold_kind(percent: Decimal) -> str:
    """The notice kind of one threshold: ``budget-50``, ``budget-80.5``."""
    return f"budget-{percent.normalize():f}"


@dataclass(frozen=True)
class BudgetAlert:
    """A department crossed ``percent`` of its budget (or, kind FORECAST, is on track to exceed it)."""

    month: str
    department: str
    name: str
    kind: str
    percent: Decimal | None       # the threshold; None for the forecast alert
    month_to_date: Decimal
    forecast: Decimal
    budget: Decimal
    currency: str
    portal: str

    @property
    def invoice_number(self) -> str:   # what a failed delivery's log line names
        return self.kind

    def month_name(self) -> str:
        return f"{month_bounds(self.month)[0]:%B %Y}"

    def subject(self) -> str:
        money = format_money
        if self.percent is None:
            return (f"{self.name} is on track to exceed its {self.month_name()} budget: forecast "
                    f"{money(self.forecast, self.currency)} of {money(self.budget, self.currency)}")
        return (f"{self.name} has used {self.percent.normalize():f}% of its {self.month_name()} budget: "
                f"{money(self.month_to_date, self.currency)} of {money(self.budget, self.currency)}")

    def body(self) -> str:
        money = format_money
        return "\n".join([
            "Hello,", "", self.subject() + ".", "",
            f"Month to date: {money(self.month_to_date, self.currency)}",
            f"Forecast for the month: {money(self.forecast, self.currency)} (weekday-aware run rate)",
            f"Budget: {money(self.budget, self.currency)}", "",
            f"Month to date by deployment and meter: {self.portal}", "",
            "This message was sent automatically by the chargeback service; it is sent once per threshold.", ""])

    def notice_id(self, channel: str) -> str:
        base = f"{self.month}.{self.department}.{self.kind}"
        return base if channel == "email" else f"{base}.{channel}"


def alert_email(alert: BudgetAlert, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(alert.subject().split())   # names come from config: one header line
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{alert.notice_id('email')}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"   # RFC 3834
    message.set_content(alert.body())
    return message
