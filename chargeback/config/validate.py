"""Validation of a whole config document: every problem is collected as ``path: problem``."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlparse

import chargeback.config.fields as read
from chargeback.config.actuals import build_actuals
from chargeback.config.budget import build_budget
from chargeback.config.fields import MISSING, Problems
from chargeback.config.model import (
    LEGACY_WEIGHTED,
    UNALLOCATED,
    UNIT_RATED,
    UNITS,
    ChargebackConfig,
    Department,
    Notify,
    Pool,
    PoolWeights,
    Price,
)
from chargeback.errors import InvalidConfig
from chargeback.keys import is_fingerprint
from chargeback.meter_names import METERS

_Item = TypeVar("_Item", Department, Price, Pool)

TOP_KEYS = ("currency", "markup_percent", "departments", "prices", "pools", "admins", "actuals")
DEPARTMENT_KEYS = ("id", "name", "cost_center", "owners", "notify", "subscriptions", "viewers", "budget")
NOTIFY_KEYS = ("email", "webhook")
PRICE_KEYS = ("deployment", "effective_from", "unit", *UNIT_RATED, "audio_hour")
POOL_KEYS = ("deployment", "effective_from", "monthly_cost", "ptus", "hourly_rate", "weights")
WEIGHT_KEYS = METERS

_DEPARTMENT_ID = re.compile(r"[a-z0-9-]+")
MAX_MARKUP_PERCENT = Decimal(1000)   # a platform fee of 10x the charge is already a typo
MAX_PTUS = 1_000_000
_RAW_KEY = re.compile(r"[0-9a-fA-F]{32}")   # what an APIM subscription key looks like: a secret


def build_config(doc: object) -> ChargebackConfig:
    """A ``ChargebackConfig`` from a parsed document, or ``InvalidConfig`` listing every problem."""
    if not isinstance(doc, dict):
        raise InvalidConfig([f"file: must be a mapping with currency, departments, prices, pools, "
                             f"got {read.kind(doc)}"])
    p = Problems()
    read.check_keys(p, "", doc, TOP_KEYS, required=("currency", "departments"))
    currency = _currency(p, doc.get("currency", MISSING))
    markup = read.amount(p, "markup_percent", doc.get("markup_percent", Decimal(0)), maximum=MAX_MARKUP_PERCENT)
    departments = read.items(p, "departments", doc.get("departments", MISSING), _department)
    prices = read.items(p, "prices", doc.get("prices", []), _price)
    pools = read.items(p, "pools", doc.get("pools", []), _pool)
    admins = read.emails(p, "admins", doc.get("admins", []))
    _check_departments(p, departments)
    _check_effective_dates(p, "prices", prices)
    _check_effective_dates(p, "pools", pools)
    _check_one_billing_per_deployment(p, prices, pools)
    actuals = build_actuals(p, doc.get("actuals", MISSING), {pool.deployment for pool in pools if pool is not None})
    if p or currency is None or markup is None:
        raise InvalidConfig(p)
    # no problems: every item was built (a refused one is None and always comes with a problem)
    return ChargebackConfig(currency=currency, markup_percent=markup, departments=_built(departments),
                            prices=_built(prices), pools=_built(pools), admins=tuple(admins),
                            actuals=actuals)


def _built(items: list[_Item | None]) -> tuple[_Item, ...]:
    return tuple(item for item in items if item is not None)


def _department(p: Problems, path: str, raw: dict[str, Any]) -> Department | None:
    read.check_keys(p, path, raw, DEPARTMENT_KEYS, required=("id", "subscriptions"))
    dept_id = read.text(p, f"{path}.id", raw.get("id", MISSING))
    if dept_id is not None and not _DEPARTMENT_ID.fullmatch(dept_id):
        hint = re.sub(r"[^a-z0-9-]+", "-", dept_id.lower()).strip("-")
        p.add(f"{path}.id", f"{read.show(dept_id)} must match [a-z0-9-]+ (lower-case letters, digits, hyphens)"
                            + (f', e.g. "{hint}"' if hint else ""))
    elif dept_id == UNALLOCATED:
        p.add(f"{path}.id", f'"{UNALLOCATED}" is reserved for usage no department claims')
    name = read.text(p, f"{path}.name", raw.get("name", dept_id or ""), allow_empty=True)
    cost_center = read.text(p, f"{path}.cost_center", raw.get("cost_center", ""), allow_empty=True)
    owners = read.members(p, f"{path}.owners", raw.get("owners", []))
    viewers = read.members(p, f"{path}.viewers", raw.get("viewers", []))
    notify = _notify(p, f"{path}.notify", raw.get("notify", {}))
    subscriptions = _subscriptions(p, f"{path}.subscriptions", raw.get("subscriptions", MISSING))
    budget = build_budget(p, f"{path}.budget", raw.get("budget", MISSING))
    if dept_id is None or name is None or cost_center is None or notify is None:
        return None
    return Department(dept_id, name, cost_center, tuple(owners), notify, tuple(subscriptions), tuple(viewers),
                      budget)


def _notify(p: Problems, path: str, raw: object) -> Notify | None:
    if raw is None:
        return Notify()
    if not isinstance(raw, dict):
        p.add(path, f"must be a mapping like {{email: [...], webhook: null}}, got {read.kind(raw)}")
        return None
    read.check_keys(p, path, raw, NOTIFY_KEYS, required=())
    email = read.emails(p, f"{path}.email", raw.get("email", []))
    webhook = raw.get("webhook")
    if webhook is not None:
        url = urlparse(webhook) if isinstance(webhook, str) else None
        if url is None or url.scheme not in ("http", "https") or not url.netloc:
            p.add(f"{path}.webhook", f"must be an http(s) URL or null, got {read.show(webhook)}")
            webhook = None
    return Notify(tuple(email), webhook)


def _subscriptions(p: Problems, path: str, raw: object) -> list[str]:
    out: list[str] = []
    if raw is MISSING:
        return out
    if not isinstance(raw, list):
        p.add(path, f"must be a list of APIM subscription ids or sha256: key fingerprints, got {read.kind(raw)}")
        return out
    for index, value in enumerate(raw):
        here = f"{path}[{index}]"
        sub = read.text(p, here, value)
        if sub is None:
            continue
        if sub.startswith("sha256:") and not is_fingerprint(sub):
            p.add(here, f"{read.show(sub)} is not a whole key fingerprint: sha256: and 64 lower-case hex digits "
                        "(`chargeback config fingerprint KEY` prints it)")
        elif _RAW_KEY.fullmatch(sub):
            p.add(here, "looks like a raw subscription key, which is a secret: list its fingerprint instead "
                        "(`chargeback config fingerprint KEY`)")
        elif sub in out:
            p.add(here, f"{read.show(sub)} is listed twice")
        else:
            out.append(sub)
    return out


def _price(p: Problems, path: str, raw: dict[str, Any]) -> Price | None:
    read.check_keys(p, path, raw, PRICE_KEYS, required=("deployment", "effective_from"))
    deployment = read.text(p, f"{path}.deployment", raw.get("deployment", MISSING))
    effective_from = read.day(p, f"{path}.effective_from", raw.get("effective_from", MISSING))
    rates = {k: read.amount(p, f"{path}.{k}", raw[k]) for k in UNIT_RATED if k in raw}
    audio_hour = read.amount(p, f"{path}.audio_hour", raw.get("audio_hour", MISSING))
    unit = raw.get("unit", MISSING)
    unit_ok = unit is MISSING or (isinstance(unit, str) and unit in UNITS)
    if not unit_ok:
        p.add(f"{path}.unit", f"must be 1K or 1M, got {read.show(unit)}")
    elif unit is MISSING and rates:
        p.add(f"{path}.unit", f"required with a per-unit rate ({', '.join(rates)}): 1K or 1M")
        unit_ok = False
    if not rates and "audio_hour" not in raw:
        p.add(path, f"names no rate: give at least one of {', '.join(UNIT_RATED)} or audio_hour")
        return None
    if deployment is None or effective_from is None or None in rates.values() or not unit_ok \
            or ("audio_hour" in raw and audio_hour is None):
        return None
    named = tuple((m, rate) for m, rate in rates.items() if rate is not None)
    return Price(deployment, effective_from, unit if isinstance(unit, str) else None, named, audio_hour)


def _pool(p: Problems, path: str, raw: dict[str, Any]) -> Pool | None:
    read.check_keys(p, path, raw, POOL_KEYS, required=("deployment", "effective_from"))
    deployment = read.text(p, f"{path}.deployment", raw.get("deployment", MISSING))
    effective_from = read.day(p, f"{path}.effective_from", raw.get("effective_from", MISSING))
    monthly = read.amount(p, f"{path}.monthly_cost", raw.get("monthly_cost", MISSING))
    raw_ptus, ptus = raw.get("ptus", MISSING), None
    if raw_ptus is not MISSING and (not isinstance(raw_ptus, int) or isinstance(raw_ptus, bool) or raw_ptus <= 0):
        p.add(f"{path}.ptus", f"must be a whole number of PTUs above 0, got {read.show(raw_ptus)}")
    elif isinstance(raw_ptus, int) and raw_ptus > MAX_PTUS:
        p.add(f"{path}.ptus", f"must be at most {MAX_PTUS:,} PTUs, got {read.show(raw_ptus)}")
    elif isinstance(raw_ptus, int):
        ptus = raw_ptus
    hourly = read.amount(p, f"{path}.hourly_rate", raw.get("hourly_rate", MISSING))
    has_monthly, has_ptus, has_hourly = ("monthly_cost" in raw, "ptus" in raw, "hourly_rate" in raw)
    if has_monthly and (has_ptus or has_hourly):
        p.add(path, "give monthly_cost or ptus + hourly_rate, not both")
    elif not has_monthly and not has_ptus and not has_hourly:
        p.add(path, "has no cost: needs monthly_cost, or ptus and hourly_rate")
    elif not has_monthly and has_ptus != has_hourly:
        p.add(f"{path}.{'hourly_rate' if has_ptus else 'ptus'}",
              f"required with {'ptus' if has_ptus else 'hourly_rate'} (the pool costs ptus x hourly_rate per hour)")
    weights = _weights(p, f"{path}.weights", raw.get("weights", {}))
    if deployment is None or effective_from is None or weights is None \
            or (monthly is None and (ptus is None or hourly is None)):
        return None
    if has_monthly:
        return Pool(deployment, effective_from, weights, monthly_cost=monthly)
    return Pool(deployment, effective_from, weights, ptus=ptus, hourly_rate=hourly)


def _weights(p: Problems, path: str, raw: object) -> PoolWeights | None:
    if not isinstance(raw, dict):
        p.add(path, f"must be a mapping like {{input: 1, cached_input: 0, output: 4}}, got {read.kind(raw)}")
        return None
    read.check_keys(p, path, raw, WEIGHT_KEYS, required=())
    # input, cached_input and output left out count 1 (the first release's contract: plain token counts);
    # any other meter counts only when named (DESIGN.md: a meter the weights do not name weighs 0).
    given = {**dict.fromkeys(LEGACY_WEIGHTED, Decimal(1)), **raw}
    values = {k: read.amount(p, f"{path}.{k}", given[k]) for k in WEIGHT_KEYS if k in given}
    if None in values.values():
        return None
    if not any(values.values()):
        p.add(path, "at least one weight must be above 0, or nobody could be charged for the pool")
        return None
    return PoolWeights(tuple((k, v) for k, v in values.items() if v is not None))


def _check_departments(p: Problems, departments: list[Department | None]) -> None:
    ids: dict[str, int] = {}
    claims: dict[str, str] = {}
    for index, dept in enumerate(departments):
        if dept is None:
            continue
        if dept.id in ids:
            p.add(f"departments[{index}].id", f"{read.show(dept.id)} is already used by departments[{ids[dept.id]}]")
        ids.setdefault(dept.id, index)
        for n, sub in enumerate(dept.subscriptions):
            owner = claims.setdefault(sub, dept.id)
            if owner != dept.id:
                p.add(f"departments[{index}].subscriptions[{n}]",
                      f"{read.show(sub)} is already claimed by department {read.show(owner)}")


def _check_effective_dates(p: Problems, section: str, entries: Sequence[Price | Pool | None]) -> None:
    seen: dict[tuple[str, date], int] = {}
    for index, entry in enumerate(entries):
        if entry is None:
            continue
        first = seen.setdefault((entry.deployment, entry.effective_from), index)
        if first != index:
            p.add(f"{section}[{index}].effective_from",
                  f"{entry.effective_from.isoformat()} repeats {section}[{first}] for deployment "
                  f"{read.show(entry.deployment)}; one entry per deployment and date")


def _check_one_billing_per_deployment(p: Problems, prices: list[Price | None], pools: list[Pool | None]) -> None:
    # Entries run open-ended until superseded, so a deployment with both a price and a pool would be
    # billed twice from the later date on. Refuse instead of guessing which one was meant.
    priced: dict[str, int] = {}
    for index, price in enumerate(prices):
        if price is not None:
            priced.setdefault(price.deployment, index)
    for index, pool in enumerate(pools):
        if pool is not None and pool.deployment in priced:
            p.add(f"pools[{index}].deployment",
                  f"{read.show(pool.deployment)} also has a pay-as-you-go price (prices[{priced[pool.deployment]}]); "
                  "a deployment is billed per token or as a pool, not both")






def _currency(p: Problems, raw: object) -> str | None:
    if raw is MISSING:
        return None
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Z]{3}", raw):
        p.add("currency", f"must be a 3-letter ISO 4217 code in capitals such as USD or EUR, got {read.show(raw)}")
        return None
    return raw











