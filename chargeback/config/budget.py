"""A department's monthly budget and the percentages of it at which its readers are alerted (DESIGN.md)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import chargeback.config.fields as read
from chargeback.config.fields import MISSING, Problems

BUDGET_KEYS = ("monthly", "alert_at_percent")
DEFAULT_ALERTS = (Decimal(50), Decimal(80), Decimal(100))
MAX_PERCENT = Decimal(1000)


@dataclass(frozen=True)
class Budget:
    """``monthly`` in the config's currency (markup included, as the invoice total); thresholds ascending."""

    monthly: Decimal
    alert_at_percent: tuple[Decimal, ...] = DEFAULT_ALERTS

    def to_dict(self) -> dict[str, Any]:
        return {"monthly": str(self.monthly), "alert_at_percent": [str(a) for a in self.alert_at_percent]}


def build_budget(p: Problems, path: str, raw: object) -> Budget | None:
    """``budget: {monthly: 2500.00, alert_at_percent: [50, 80, 100]}``; None when absent or refused."""
    if raw is MISSING or raw is None:
        return None
    if not isinstance(raw, dict):
        p.add(path, f"must be a mapping like {{monthly: 2500.00, alert_at_percent: [50, 80, 100]}}, "
                    f"got {read.kind(raw)}")
        return None
    read.check_keys(p, path, raw, BUDGET_KEYS, required=("monthly",))
    monthly = read.amount(p, f"{path}.monthly", raw.get("monthly", MISSING))
    if monthly is not None and monthly <= 0:
        p.add(f"{path}.monthly", f"must be more than 0, got {read.show(monthly)}")
        monthly = None
    alerts = _alerts(p, f"{path}.alert_at_percent", raw.get("alert_at_percent", MISSING))
    if monthly is None or alerts is None:
        return None
    return Budget(monthly, alerts)


def _alerts(p: Problems, path: str, raw: object) -> tuple[Decimal, ...] | None:
    if raw is MISSING:
        return DEFAULT_ALERTS
    if not isinstance(raw, list) or not raw:
        p.add(path, f"must be a non-empty list of percentages, got {read.show(raw)}")
        return None
    values = [read.amount(p, f"{path}[{n}]", item, maximum=MAX_PERCENT) for n, item in enumerate(raw)]
    if any(v is None for v in values):
        return None
    found = [v for v in values if v is not None]
    for n, value in enumerate(found):
        if value <= 0:
            p.add(f"{path}[{n}]", f"must be more than 0, got {read.show(value)}")
            return None
    if len(set(found)) != len(found):
        p.add(path, f"lists a percentage twice: {read.show(raw)}")
        return None
    return tuple(sorted(found))
