"""The chargeback configuration: departments, effective-dated prices and PTU pools (the DESIGN.md YAML)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

from chargeback.config.actuals import ActualsConfig
from chargeback.config.budget import Budget
from chargeback.meter_names import METERS
from chargeback.money import minor_unit

UNALLOCATED = "unallocated"   # who pays for subscriptions no department claims
UNITS = {"1K": 1_000, "1M": 1_000_000}
# Meters a price entry may name a per-unit rate for (audio_seconds is priced by ``audio_hour`` instead).
UNIT_RATED = tuple(m for m in METERS if m != "audio_seconds")
# The only fall-backs (DESIGN.md): a cached or cache-write rate left out is its uncached meter's rate.
CACHED_DEFAULTS = {"cached_input": "input", "cache_write_input": "input",
                   "cached_audio_input": "audio_input", "cached_image_input": "image_input"}
# The first release's pool weights: these three default to 1 when left out (shared by plain token counts).
LEGACY_WEIGHTED = ("input", "cached_input", "output")


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
    # may see and download like owners; owners and viewers may also be Entra group object ids (GUIDs)
    viewers: tuple[str, ...] = ()
    budget: Budget | None = None   # chargeback/config/budget.py: month-to-date alerts

    def readers(self) -> frozenset[str]:
        """Who may see this department's invoices: owners, viewers and every notice recipient (a notice
        never links to something its reader cannot open), lower case; addresses and group ids alike."""
        return frozenset(m.lower() for m in (*self.owners, *self.viewers, *self.notify.email))


@dataclass(frozen=True)
class Price:
    """Pay-as-you-go rates of one deployment, in effect from ``effective_from`` until the next entry.

    ``rates`` holds the per-``unit`` rates the entry names, by meter (DESIGN.md "Configuration");
    ``audio_hour`` is the rate per hour of audio, prorated per second (``audio_seconds``).
    """

    deployment: str
    effective_from: date
    unit: str | None               # "1K" or "1M" tokens/characters; None when only audio_hour is named
    rates: tuple[tuple[str, Decimal], ...]
    audio_hour: Decimal | None = None

    @property
    def tokens_per_unit(self) -> int:
        return UNITS[self.unit or "1M"]

    @cached_property
    def _by_meter(self) -> dict[str, Decimal]:
        # Made once per entry (a frozen dataclass keeps a cached_property in its __dict__, outside its fields:
        # equality, hash and repr are the fields' alone). Pricing asks for a line's rates meter by meter.
        return dict(self.rates)

    def named(self, meter: str) -> Decimal | None:
        """The rate the entry names for ``meter`` (no defaults)."""
        return self._by_meter.get(meter)

    def rate(self, meter: str) -> Decimal | None:
        """The rate in effect for ``meter``: named, else the documented cached default, else None (unpriced)."""
        named = self.named(meter)
        if named is None and meter in CACHED_DEFAULTS:
            return self.named(CACHED_DEFAULTS[meter])
        return named

    @property
    def input(self) -> Decimal | None:
        return self.named("input")

    @property
    def output(self) -> Decimal | None:
        return self.named("output")

    @property
    def cached_input(self) -> Decimal | None:
        return self.named("cached_input")

    @property
    def cached_input_rate(self) -> Decimal | None:
        return self.rate("cached_input")


@dataclass(frozen=True)
class PoolWeights:
    """How much one unit of each meter counts towards a pool's use; a meter not listed weighs 0."""

    values: tuple[tuple[str, Decimal], ...] = tuple((m, Decimal(1)) for m in LEGACY_WEIGHTED)

    def weight(self, meter: str) -> Decimal:
        return dict(self.values).get(meter, Decimal(0))

    def as_dict(self) -> dict[str, Decimal]:
        return dict(self.values)

    @property
    def input(self) -> Decimal:
        return self.weight("input")

    @property
    def cached_input(self) -> Decimal:
        return self.weight("cached_input")

    @property
    def output(self) -> Decimal:
        return self.weight("output")


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
    actuals: ActualsConfig | None = None   # the optional ``actuals:`` section (config.actuals)
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

    def to_dict(self) -> dict[str, Any]:
        """The config in its YAML shape, JSON-serialisable: Decimals as strings, dates ISO, defaults filled."""
        return {
            "currency": self.currency,
            "markup_percent": str(self.markup_percent),
            "departments": [_department_dict(d) for d in self.departments],
            "prices": [_price_dict(p) for p in self.prices],
            "pools": [_pool_dict(p) for p in self.pools],
            "admins": list(self.admins),
            # only when given, so that a config without the section keeps its fingerprint
            **({"actuals": self.actuals.to_dict()} if self.actuals is not None else {}),
        }

    def fingerprint(self) -> str:
        """``sha256:<hex>`` of the canonical JSON: identifies the config version a run priced with."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        # Made once per config, as Price._by_meter (every part of a config is frozen): each refresh prices with it.
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_Entry = TypeVar("_Entry", Price, Pool)


def effective_periods(history: list[_Entry], first_day: date, end: date) -> list[tuple[_Entry, date, date]]:
    """``(entry, start, stop)`` for each entry of an oldest-first history in effect within [first_day, end):
    an entry runs from its ``effective_from`` (00:00 UTC) until the next entry's; ``stop`` is exclusive."""
    periods: list[tuple[_Entry, date, date]] = []
    for index, entry in enumerate(history):
        following = history[index + 1].effective_from if index + 1 < len(history) else end
        start, stop = max(entry.effective_from, first_day), min(following, end)
        if start < stop:
            periods.append((entry, start, stop))
    return periods


def _department_dict(d: Department) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "cost_center": d.cost_center, "owners": list(d.owners),
            "notify": {"email": list(d.notify.email), "webhook": d.notify.webhook},
            "subscriptions": list(d.subscriptions),
            # only when given, so that a config without viewers keeps its fingerprint
            **({"viewers": list(d.viewers)} if d.viewers else {}),
            **({"budget": d.budget.to_dict()} if d.budget else {})}


def _price_dict(p: Price) -> dict[str, Any]:
    # Only what the entry names: an old three-rate entry keeps its old shape (and so its fingerprint).
    out: dict[str, Any] = {"deployment": p.deployment, "effective_from": p.effective_from.isoformat()}
    if p.unit is not None:
        out["unit"] = p.unit
    out.update((meter, str(rate)) for meter, rate in p.rates)
    if p.audio_hour is not None:
        out["audio_hour"] = str(p.audio_hour)
    return out


def _pool_dict(p: Pool) -> dict[str, Any]:
    out: dict[str, Any] = {"deployment": p.deployment, "effective_from": p.effective_from.isoformat()}
    if p.monthly_cost is not None:
        out["monthly_cost"] = str(p.monthly_cost)
    else:
        out["ptus"] = p.ptus
        out["hourly_rate"] = str(p.hourly_rate)
    out["weights"] = {meter: str(weight) for meter, weight in p.weights.values}
    return out
