"""The two ways a notice leaves: an email over SMTP and a JSON POST to an incoming webhook.

Each ``deliver`` returns on success or raises DeliveryFailed, ``permanent`` when trying again cannot help.
Errors never quote a webhook URL (its path is the secret) or SMTP credentials.
"""
from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request

from chargeback.errors import DeliveryFailed
from chargeback.notices.budget_alert import BudgetAlert, alert_email
from chargeback.notices.render import Notice, email_message, notice_id, webhook_payload
from chargeback.settings import Settings

TIMEOUT = 10  # seconds; a stuck server becomes a failed attempt, not a stuck activity


class SmtpMailer:
    """Email over SMTP: STARTTLS when asked for, login only when a user is set."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def deliver(self, notice: Notice | BudgetAlert, recipients: tuple[str, ...]) -> None:
        s = self.settings
        if not s.smtp_host:
            raise DeliveryFailed("no SMTP server configured (CHARGEBACK_SMTP_HOST)", permanent=True)
        message = (alert_email(notice, s.smtp_from, recipients) if isinstance(notice, BudgetAlert)
                   else email_message(notice, s.smtp_from, recipients))
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(message)
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError,
                smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryFailed(f"SMTP refused: {_smtp_reason(exc)}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            # 4xx is "try again later", 5xx is final.
            raise DeliveryFailed(f"SMTP error: {_smtp_reason(exc)}", permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP server unreachable: {type(exc).__name__}") from None


def _smtp_reason(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"[:300]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"every recipient refused ({len(exc.recipients)})"
    return type(exc).__name__


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET and report success; a webhook never redirects.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class WebhookPoster:
    """``{"text": ...}`` POSTed as JSON: what Slack and Teams incoming webhooks accept."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects)

    def deliver(self, notice: Notice | BudgetAlert, url: str) -> None:
        data = json.dumps({"text": notice.body()} if isinstance(notice, BudgetAlert)
                          else webhook_payload(notice)).encode("utf-8")
        request = urllib.request.Request(url, data=data, method="POST",  # noqa: S310 - config allows only http(s)
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "User-Agent": "chargeback-notifier",
                                                  "X-Chargeback-Notice-Id": (
                                                      notice.notice_id("webhook") if isinstance(notice, BudgetAlert)
                                                      else notice_id(notice, "webhook"))})
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            retry = exc.code == 429 or exc.code >= 500
            raise DeliveryFailed(f"webhook answered HTTP {exc.code}", permanent=not retry) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(f"webhook unreachable: {type(reason).__name__}") from None
