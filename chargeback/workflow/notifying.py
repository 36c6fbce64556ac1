"""Notify each department that its invoice is ready (or revised), once per invoice version and channel.

Delivered once: a delivery record per month, department, version and channel is written after a
successful send, and a send is skipped when that record says ``sent``. A crash in the short window
between the send and the record makes the retried activity send again (at least once, never silently
lost); the notice's id (email Message-ID, webhook header) is stable per version and channel, so a
mail client collapses such a duplicate. A notice is owed until a ``sent`` record exists: a failed
delivery (tried ``notify_attempts`` times, recorded as ``failed``) and one never attempted (storage
gave out during the notify step) are both sent by the month's next run, even when the invoice is
unchanged. Delivery failures never fail the month.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chargeback.billing.charges import MonthCharges, PaygLine
from chargeback.config.model import UNALLOCATED, Department
from chargeback.errors import DeliveryFailed
from chargeback.notices.delivery import FAILED, SENT, DeliveryRecord
from chargeback.notices.render import Notice
from chargeback.owners.change import explain
from chargeback.settings import Settings
from chargeback.workflow.invoicing import department_from, load_department, run_prefix
from chargeback.workflow.ports import Channel, ConfigSource, DeliveryLog, Documents, InvoiceLedger
from chargeback.workflow.run_documents import read_department_documents

EMAIL, WEBHOOK = "email", "webhook"
ALREADY_SENT = "already sent"
_log = logging.getLogger(__name__)


@dataclass
class NotifyContext:
    """What the notify step works with (built once per process by the wiring)."""

    settings: Settings
    documents: Documents
    config: ConfigSource
    index: InvoiceLedger
    notices: DeliveryLog
    channels: dict[str, Channel]   # EMAIL, WEBHOOK -> its adapter
    sleep: Callable[[float], None] = field(default=time.sleep)
    # (month, run_id, department) -> its run document, as a batch read them (notify_departments_step)
    known_documents: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


def targets(department: Department | None) -> dict[str, object]:
    """Channel -> where it goes: the email recipients, the webhook URL; empty when nobody listens."""
    if department is None or department.id == UNALLOCATED:
        return {}
    found: dict[str, object] = {}
    if department.notify.email:
        found[EMAIL] = tuple(department.notify.email)
    if department.notify.webhook:
        found[WEBHOOK] = department.notify.webhook
    return found


def deployment_amounts(charges: MonthCharges, department: str) -> tuple[tuple[str, Decimal], ...]:
    """What the department paid per deployment (PAYG and pool shares), largest first."""
    dept = charges.department(department)
    amounts: dict[str, Decimal] = {}
    at_actual = dept is not None and bool(dept.actual_lines) and dept.true_up is None   # mode actual
    for line in dept.lines if dept and not at_actual else ():
        name = line.deployment if isinstance(line, PaygLine) else line.pool
        amounts[name] = amounts.get(name, Decimal(0)) + line.amount
    for actual in dept.actual_lines if dept and at_actual else ():   # its part of Azure's bill per meter or pool
        name = actual.deployment or actual.pool or "meters not mapped"
        amounts[name] = amounts.get(name, Decimal(0)) + actual.amount
    if dept is not None and dept.true_up is not None:
        amounts["true-up to Azure's actual bill"] = dept.true_up.amount
    return tuple(sorted(amounts.items(), key=lambda item: (-item[1], item[0])))


def invoice_link(settings: Settings, month: str, department: str) -> str:
    return f"{settings.public_url}/api/invoices/{month}/{department}"


def build_notice(ctx: NotifyContext, invoice: dict[str, Any], charges: MonthCharges) -> Notice:
    month, department, version = invoice["month"], invoice["department"], int(invoice["version"])
    previous, reason = None, ""
    if invoice["revision"]:
        earlier = [v for v in ctx.index.versions(month, department) if v.version < version]
        previous = earlier[-1].total if earlier else None
        reason = revision_reason(ctx, charges, earlier[-1].run_id, department) if earlier else ""
    return Notice(month=month, department=department, name=invoice["name"], total=Decimal(invoice["total"]),
                  currency=invoice["currency"], version=version, revision=bool(invoice["revision"]),
                  invoice_number=invoice["invoice_number"], link=invoice_link(ctx.settings, month, department),
                  portal=f"{ctx.settings.public_url}/api/portal",
                  deployments=deployment_amounts(charges, department), previous_total=previous,
                  reason=reason, contact=ctx.settings.notice_reply_to)


def revision_reason(ctx: NotifyContext, charges: MonthCharges, earlier_run: str, department: str) -> str:
    """Why the revision differs from the version it replaces, from both runs' priced months ("" if the
    earlier run's documents are gone)."""
    current = charges.department(department)
    try:
        earlier_charges, _ = load_department(ctx.documents, charges.month, earlier_run, department)
    except (KeyError, LookupError, FileNotFoundError):
        return ""
    earlier = earlier_charges.department(department)
    if current is None or earlier is None:
        return ""
    return ", ".join(explain((earlier_charges, earlier), (charges, current), revision=True).reasons)


def notify_departments_step(ctx: NotifyContext, month: str, run_id: str, invoices: list[dict[str, Any]],
                            config_fingerprint: str | None = None) -> list[dict[str, Any]]:
    """A batch of invoices (one activity's), one ``notify_department_step`` each; the run documents of the
    departments someone listens to are read together, in one ranged read of the run's bundle."""
    config = ctx.config.get(config_fingerprint) if config_fingerprint else None
    listening = [i["department"] for i in invoices if config and targets(config.department(i["department"]))]
    docs = read_department_documents(ctx.documents, run_prefix(month, run_id), listening) if listening else {}
    batch = replace(ctx, known_documents={(month, run_id, d): doc for d, doc in docs.items()})
    return [notify_department_step(batch, month, run_id, invoice, config_fingerprint) for invoice in invoices]


def _charges(ctx: NotifyContext, month: str, run_id: str, department: str) -> MonthCharges:
    known = ctx.known_documents.get((month, run_id, department))
    return department_from(known)[0] if known is not None else load_department(ctx.documents, month, run_id,
                                                                                  department)[0]


def notify_department_step(ctx: NotifyContext, month: str, run_id: str, invoice: dict[str, Any],
                           config_fingerprint: str | None = None) -> dict[str, Any]:
    """Send what is due for one department's invoice; returns what happened per channel (never raises
    for a delivery; storage errors do raise, so the activity is retried). ``config_fingerprint``: the
    configuration the run priced with (the orchestrator passes it), so a department nobody listens to is
    skipped without reading its run document; without it the document says which configuration."""
    department, version = invoice["department"], int(invoice["version"])
    result = {"department": department, "version": version, "revision": bool(invoice["revision"]),
              "deliveries": [], "skipped": ""}
    charges = None
    if config_fingerprint is None:
        charges = _charges(ctx, month, run_id, department)
        config_fingerprint = charges.config_fingerprint
    config = ctx.config.get(config_fingerprint)
    due = targets(config.department(department) if config else None)
    if not due:
        result["skipped"] = "not a department" if department == UNALLOCATED else "no notify settings"
        return result
    if charges is None:
        charges = _charges(ctx, month, run_id, department)
    notice = None
    for channel, target in due.items():
        earlier = ctx.notices.get(month, department, version, channel)
        if earlier is not None and earlier.status == SENT:
            if invoice["changed"]:   # this run's notice, retried or replayed
                result["deliveries"].append({"channel": channel, "status": ALREADY_SENT, "attempts": 0,
                                             "error": ""})
            continue   # an unchanged invoice owes only what was never sent (failed, or never attempted)
        notice = notice or build_notice(ctx, {**invoice, "month": month}, charges)
        ok, attempts, error = _deliver(ctx, channel, notice, target)
        ctx.notices.record(DeliveryRecord(month=month, department=department, version=version, channel=channel,
                                          status=SENT if ok else FAILED, attempts=attempts, run_id=run_id,
                                          at=datetime.now(UTC), revision=notice.revision, error=error))
        result["deliveries"].append({"channel": channel, "status": SENT if ok else FAILED, "attempts": attempts,
                                     "error": error})
    if not result["deliveries"]:
        result["skipped"] = "invoice unchanged"
    return result


def _deliver(ctx: NotifyContext, channel: str, notice: Notice, target: object) -> tuple[bool, int, str]:
    """(delivered, attempts, last error): transient failures are retried with a doubling pause."""
    attempts, pause, error = max(1, ctx.settings.notify_attempts), ctx.settings.notify_backoff, ""
    for attempt in range(1, attempts + 1):
        try:
            ctx.channels[channel].deliver(notice, target)
            return True, attempt, ""
        except DeliveryFailed as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # a notice must never fail the month: anything unexpected is a failed attempt
            error, permanent = f"{type(exc).__name__} while sending", False
        _log.warning("notice %s %s via %s, attempt %d of %d: %s", notice.invoice_number, notice.department,
                     channel, attempt, attempts, error)
        if permanent or attempt == attempts:
            return False, attempt, error
        ctx.sleep(pause)
        pause *= 2
    return False, attempts, error


def summarize_notices(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run result's ``notices``: counts by status, every delivery, and who was skipped why (pure)."""
    deliveries = [{"department": r["department"], "version": r["version"], "revision": r["revision"], **d}
                  for r in results for d in r["deliveries"]]
    counts = Counter(d["status"] for d in deliveries)
    return {"sent": counts[SENT], "already_sent": counts[ALREADY_SENT], "failed": counts[FAILED],
            "deliveries": deliveries, "skipped": {r["department"]: r["skipped"] for r in results if r["skipped"]}}
