"""The chargeback configuration: departments, effective-dated prices and PTU pools (the DESIGN.md YAML)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from chargeback.money import minor_unit

UNALLOCATED = "unallocated"   # who pays for subscriptions no department claims
UNITS = {"1K": 1_000, "1M": 1_000_000}


@dataclass(frozen=True)
class Notify:
    """Where a department hears that its invoice is ready."""

    email: tuple[str, ...] = ()
    webhook: str | None = None


@dataclass(frozen=True)
class Department:
    """A paying department and the APIM subscriptions (ids or key fingerprints) it claims."""

    id: str
    name: str
    cost_center: str = ""
    owners: tuple[str, ...] = ()
    notify: Notify = Notify()
    subscriptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Price:
    """Pay-as-you-go rates of one deployment, in effect from ``effective_from`` until the next entry."""

    deployment: str
    effective_from: date
    unit: str                      # "1K" or "1M" tokens
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None   # absent: cached tokens are charged at the input rate

    @property
    def tokens_per_unit(self) -> int:
        return UNITS[self.unit]

    @property
    def cached_input_rate(self) -> Decimal:
        return self.input if self.cached_input is None else self.cached_input


@dataclass(frozen=True)
class PoolWeights:
    """How much one token of each kind counts towards a pool's use."""

    input: Decimal = Decimal(1)
    cached_input: Decimal = Decimal(1)
    output: Decimal = Decimal(1)


@dataclass(frozen=True)
class Pool:
    """A provisioned (PTU) deployment whose fixed cost is shared by weighted tokens."""

    deployment: str
    effective_from: date
    weights: PoolWeights = PoolWeights()
    monthly_cost: Decimal | None = None   # either this ...
    ptus: int | None = None               # ... or ptus x hourly_rate per hour deployed
    hourly_rate: Decimal | None = None


@dataclass(frozen=True)
class ChargebackConfig:
    """One validated configuration; build it with ``parse_config`` or ``config_from_dict`` (config.loading)."""

    currency: str
    departments: tuple[Department, ...]
    prices: tuple[Price, ...] = ()
    pools: tuple[Pool, ...] = ()
    admins: tuple[str, ...] = ()
    markup_percent: Decimal = Decimal(0)
    _claims: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        claims = {s: d.id for d in self.departments for s in d.subscriptions}
        object.__setattr__(self, "_claims", claims)

    @property
    def minor_unit(self) -> int:
        return minor_unit(self.currency)

    def department_for(self, subscription: str) -> str:
        """The id of the department claiming ``subscription`` (exact match), else ``"unallocated"``."""
        return self._claims.get(subscription, UNALLOCATED)

    def department(self, department_id: str) -> Department | None:
        return next((d for d in self.departments if d.id == department_id), None)

    def price_history(self, deployment: str) -> list[Price]:
        """The deployment's price entries, oldest first."""
        return sorted((p for p in self.prices if p.deployment == deployment), key=lambda p: p.effective_from)

    def pool_history(self, deployment: str) -> list[Pool]:
        """The deployment's pool entries, oldest first."""
        return sorted((p for p in self.pools if p.deployment == deployment), key=lambda p: p.effective_from)

    def to_dict(self) -> dict:
        """The config in its YAML shape, JSON-serialisable: Decimals as strings, dates ISO, defaults filled."""
        return {
            "currency": self.currency,
            "markup_percent": str(self.markup_percent),
            "departments": [_department_dict(d) for d in self.departments],
            "prices": [_price_dict(p) for p in self.prices],
            "pools": [_pool_dict(p) for p in self.pools],
            "admins": list(self.admins),
        }

    def fingerprint(self) -> str:
        """``sha256:<hex>`` of the canonical JSON: identifies the config version a run priced with."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def effective_periods(history: list, first_day: date, end: date) -> list[tuple]:
    """``(entry, start, stop)`` for each entry of an oldest-first history in effect within [first_day, end):
    an entry runs from its ``effective_from`` (00:00 UTC) until the next entry's; ``stop`` is exclusive."""
    periods = []
    for index, entry in enumerate(history):
        following = history[index + 1].effective_from if index + 1 < len(history) else end
        start, stop = max(entry.effective_from, first_day), min(following, end)
        if start < stop:
            periods.append((entry, start, stop))
    return periods


def _department_dict(d: Department) -> dict:
    return {"id": d.id, "name": d.name, "cost_center": d.cost_center, "owners": list(d.owners),
            "notify": {"email": list(d.notify.email), "webhook": d.notify.webhook},
            "subscriptions": list(d.subscriptions)}


def _price_dict(p: Price) -> dict:
    out = {"deployment": p.deployment, "effective_from": p.effective_from.isoformat(), "unit": p.unit,
           "input": str(p.input)}
    if p.cached_input is not None:
        out["cached_input"] = str(p.cached_input)
    out["output"] = str(p.output)
    return out


def _pool_dict(p: Pool) -> dict:
    out: dict = {"deployment": p.deployment, "effective_from": p.effective_from.isoformat()}
    if p.monthly_cost is not None:
        out["monthly_cost"] = str(p.monthly_cost)
    else:
        out["ptus"] = p.ptus
        out["hourly_rate"] = str(p.hourly_rate)
    out["weights"] = {"input": str(p.weights.input), "cached_input": str(p.weights.cached_input),
                      "output": str(p.weights.output)}
    return out
