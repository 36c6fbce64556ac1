"""Budget alerts after a month-to-date refresh: once per month, department and threshold, and once when the
forecast exceeds the budget.

Delivered once by the invoice notices' own mechanism (chargeback/workflow/notifying): a delivery record
per month, department, notice kind and channel, written after a send; a ``sent`` record means never again,
a ``failed`` one is retried by the next refresh. The budget is read from the config in force at each
refresh, so a budget changed mid-month applies from then: thresholds are compared with the new amount,
and a threshold already alerted (same percentage) is not alerted again.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chargeback.config.budget import Budget
from chargeback.config.model import UNALLOCATED, Department
from chargeback.notices.budget_alert import FORECAST, BudgetAlert, threshold_kind
from chargeback.notices.delivery import FAILED, SENT, DeliveryRecord
from chargeback.workflow.month_to_date import config_in_force
from chargeback.workflow.notifying import EMAIL, WEBHOOK, NotifyContext, _deliver


def alerts_due(budget: Budget, month_to_date: Decimal, forecast: Decimal) -> list[tuple[str, Decimal | None]]:
    """(kind, percent) of every threshold month to date has reached, then the forecast's if it exceeds."""
    due: list[tuple[str, Decimal | None]] = [
        (threshold_kind(percent), percent) for percent in budget.alert_at_percent
        if month_to_date * 100 >= budget.monthly * percent]
    if forecast > budget.monthly:
        due.append((FORECAST, None))
    return due


def readers(department: Department) -> tuple[str, ...]:
    """Owners and viewers (notice recipients are viewers too) that are e-mail addresses, not group ids."""
    members = (*department.owners, *getattr(department, "viewers", ()), *department.notify.email)
    seen: dict[str, str] = {}
    for member in members:
        if "@" in member:
            seen.setdefault(member.lower(), member)
    return tuple(seen.values())


def alert_step(ctx: NotifyContext, month: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Send the alerts the month-to-date ``document`` makes due and that were never sent."""
    config = config_in_force(ctx.config)
    results = []
    for entry in document["departments"]:
        dept = config.department(entry["department"])
        if dept is None or dept.id == UNALLOCATED or dept.budget is None:
            continue
        total, forecast = Decimal(entry["total"]), Decimal(entry["forecast"])
        for kind, percent in alerts_due(dept.budget, total, forecast):
            alert = BudgetAlert(month=month, department=dept.id, name=dept.name, kind=kind, percent=percent,
                                month_to_date=total, forecast=forecast, budget=dept.budget.monthly,
                                currency=document["currency"], portal=f"{ctx.settings.public_url}/api/portal")
            results.extend(_send(ctx, alert, dept, document["as_of"]))
    return results


def _send(ctx: NotifyContext, alert: BudgetAlert, dept: Department, run_id: str) -> list[dict[str, Any]]:
    targets: dict[str, object] = {}
    if readers(dept):
        targets[EMAIL] = readers(dept)
    if dept.notify.webhook:
        targets[WEBHOOK] = dept.notify.webhook
    out = []
    for channel, target in targets.items():
        earlier = ctx.notices.get(alert.month, alert.department, 0, channel, alert.kind)
        if earlier is not None and earlier.status == SENT:
            continue
        ok, attempts, error = _deliver(ctx, channel, alert, target)   # type: ignore[arg-type]
        ctx.notices.record(DeliveryRecord(month=alert.month, department=alert.department, version=0,
                                          channel=channel, status=SENT if ok else FAILED, attempts=attempts,
                                          run_id=run_id, at=datetime.now(UTC), error=error, kind=alert.kind))
        out.append({"department": alert.department, "kind": alert.kind, "channel": channel,
                    "status": SENT if ok else FAILED, "attempts": attempts, "error": error})
    return out
