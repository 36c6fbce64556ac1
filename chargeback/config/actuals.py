"""The optional ``actuals:`` section: how Azure's actual bill (a Cost Management export) maps to meters.

DESIGN.md "Actual bill": ``mode`` (list | true_up | actual), the ``resources`` whose cost counts, the
Cost Management meter names mapped to a deployment meter or a pool, and ``drift_warn_percent``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import chargeback.config.fields as read
from chargeback.config.fields import MISSING, Problems
from chargeback.meter_names import METERS

MODES = ("list", "true_up", "actual")
ACTUALS_KEYS = ("mode", "resources", "meters", "drift_warn_percent")
TARGET_KEYS = ("deployment", "meter", "pool")
DEFAULT_DRIFT_WARN_PERCENT = Decimal(2)


@dataclass(frozen=True)
class MeterTarget:
    """What one Cost Management meter bills: a deployment's meter, or a PTU pool's cost."""

    deployment: str | None = None
    meter: str | None = None
    pool: str | None = None

    @property
    def key(self) -> str:
        """A stable text key: ``deployment/meter`` or ``pool:deployment``."""
        return f"pool:{self.pool}" if self.pool is not None else f"{self.deployment}/{self.meter}"

    def to_dict(self) -> dict[str, str]:
        return {"pool": self.pool} if self.pool is not None else {"deployment": str(self.deployment),
                                                                  "meter": str(self.meter)}


@dataclass(frozen=True)
class ActualsConfig:
    """The validated ``actuals:`` section; meter names match case-insensitively, as resource ids do."""

    mode: str = "list"
    resources: tuple[str, ...] = ()
    meters: tuple[tuple[str, MeterTarget], ...] = ()
    drift_warn_percent: Decimal = DEFAULT_DRIFT_WARN_PERCENT
    _by_meter: dict[str, MeterTarget] = field(init=False, repr=False, compare=False)
    _resources: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_meter", {name.strip().casefold(): t for name, t in self.meters})
        object.__setattr__(self, "_resources", frozenset(r.casefold() for r in self.resources))

    def target_for(self, meter_name: str) -> MeterTarget | None:
        """The target of a Cost Management meter name, or None when ``meters`` does not map it."""
        return self._by_meter.get(meter_name.strip().casefold())

    def covers(self, resource_id: str) -> bool:
        """Whether a row of ``resource_id`` belongs to the configured resources (ARM ids are case-insensitive)."""
        return resource_id.strip().casefold() in self._resources

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "resources": list(self.resources),
                "meters": {name: target.to_dict() for name, target in self.meters},
                "drift_warn_percent": str(self.drift_warn_percent)}


def build_actuals(p: Problems, raw: object, pool_deployments: set[str]) -> ActualsConfig | None:
    """The ``actuals`` section from its document form (problems recorded in ``p``); None when absent or wrong."""
    if raw is MISSING or raw is None:
        return None
    if not isinstance(raw, dict):
        p.add("actuals", f"must be a mapping with mode, resources, meters, got {read.kind(raw)}")
        return None
    read.check_keys(p, "actuals", raw, ACTUALS_KEYS, required=("resources",))
    mode = raw.get("mode", "list")
    if mode not in MODES:
        p.add("actuals.mode", f"must be one of {', '.join(MODES)}, got {read.show(mode)}")
    resources = _resources(p, raw.get("resources", MISSING))
    meters = _meters(p, raw.get("meters", {}), pool_deployments)
    drift = read.amount(p, "actuals.drift_warn_percent", raw.get("drift_warn_percent", DEFAULT_DRIFT_WARN_PERCENT))
    if mode not in MODES or resources is None or meters is None or drift is None:
        return None
    return ActualsConfig(mode=str(mode), resources=resources, meters=meters, drift_warn_percent=drift)


def _resources(p: Problems, raw: object) -> tuple[str, ...] | None:
    if raw is MISSING:
        return None
    if not isinstance(raw, list) or not raw:
        p.add("actuals.resources", "must be a non-empty list of Azure resource ids (/subscriptions/.../accounts/NAME)")
        return None
    out: list[str] = []
    for index, value in enumerate(raw):
        here = f"actuals.resources[{index}]"
        resource = read.text(p, here, value)
        if resource is None:
            continue
        if not resource.casefold().startswith("/subscriptions/"):
            p.add(here, f"{read.show(resource)} is not an Azure resource id (it starts with /subscriptions/)")
        elif resource.casefold() in (r.casefold() for r in out):
            p.add(here, f"{read.show(resource)} is listed twice (resource ids compare case-insensitively)")
        else:
            out.append(resource)
    return tuple(out) if len(out) == len(raw) else None


def _meters(p: Problems, raw: object, pool_deployments: set[str]) -> tuple[tuple[str, MeterTarget], ...] | None:
    if not isinstance(raw, dict):
        p.add("actuals.meters", f"must be a mapping of Cost Management meter name -> target, got {read.kind(raw)}")
        return None
    out: list[tuple[str, MeterTarget]] = []
    seen: dict[str, str] = {}
    ok = True
    for name, value in raw.items():
        here = f'actuals.meters."{name}"'
        if not isinstance(name, str) or not name.strip():
            p.add(here, "a meter name must be non-empty text")
            ok = False
            continue
        folded = name.strip().casefold()
        if folded in seen:
            p.add(here, f'repeats "{seen[folded]}" (meter names compare case-insensitively)')
            ok = False
            continue
        seen[folded] = name
        target = _target(p, here, value, pool_deployments)
        if target is None:
            ok = False
        else:
            out.append((name.strip(), target))
    return tuple(out) if ok else None


def _target(p: Problems, path: str, raw: object, pool_deployments: set[str]) -> MeterTarget | None:
    if not isinstance(raw, dict):
        p.add(path, f"must be {{deployment: D, meter: M}} or {{pool: D}}, got {read.kind(raw)}")
        return None
    read.check_keys(p, path, raw, TARGET_KEYS, required=())
    if "pool" in raw:
        return _pool_target(p, path, raw, pool_deployments)
    deployment = read.text(p, f"{path}.deployment", raw.get("deployment", MISSING))
    meter = read.text(p, f"{path}.meter", raw.get("meter", MISSING))
    for key in ("deployment", "meter"):
        if key not in raw:
            p.add(f"{path}.{key}", "required (or give {pool: D} for a PTU pool's meter)")
    if meter is not None and meter not in METERS:
        p.add(f"{path}.meter", f"{read.show(meter)} is not a meter; one of {', '.join(METERS)}")
        return None
    if deployment is None or meter is None:
        return None
    return MeterTarget(deployment=deployment, meter=meter)


def _pool_target(p: Problems, path: str, raw: dict[str, Any], pool_deployments: set[str]) -> MeterTarget | None:
    if "deployment" in raw or "meter" in raw:
        p.add(path, "give {pool: D} or {deployment: D, meter: M}, not both")
        return None
    pool = read.text(p, f"{path}.pool", raw["pool"])
    if pool is not None and pool not in pool_deployments:
        p.add(f"{path}.pool", f"{read.show(pool)} is not a deployment of pools")
        return None
    return MeterTarget(pool=pool) if pool is not None else None
