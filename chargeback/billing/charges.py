"""A priced month, explainable line by line: what each department owes and why."""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from chargeback.usage.meters import NO_USAGE, MeterQuantities


@dataclass(frozen=True)
class PaygLine:
    """Pay-as-you-go usage of one subscription on one deployment during one price period."""

    subscription: str
    deployment: str
    models: tuple[str, ...]
    period_start: date          # first day the rates applied this month (inclusive)
    period_end: date            # last day they applied (inclusive)
    unit: str | None            # rates are per "1K" or "1M" tokens/characters (None: only audio_hour)
    input_rate: Decimal | None  # the first release's three rates (None when the entry names none)
    cached_input_rate: Decimal | None
    output_rate: Decimal | None
    requests: int
    unmetered: int
    prompt_tokens: int          # includes cached_tokens
    cached_tokens: int
    completion_tokens: int      # includes reasoning_tokens
    reasoning_tokens: int
    exact_amount: Decimal       # before rounding, for the curious reader
    amount: Decimal
    meters: MeterQuantities = NO_USAGE              # every meter's quantity on the line
    rates: dict[str, Decimal] = field(default_factory=dict)   # meter -> rate in effect (audio: per hour)
    price_from: date | None = None                  # the price entry's effective_from (FOCUS SkuPriceId)
    spilled_from: str = ""      # a PTU deployment that spilled these calls to ``deployment``; "" if none
    kind: typing.ClassVar[str] = "payg"

    def priced_meters(self) -> list[str]:
        """The meters with usage and a rate, in ``METERS`` order: what the line charges for."""
        return [m for m in self.meters.used() if m in self.rates]


@dataclass(frozen=True)
class PoolLine:
    """One department's share of a provisioned pool during one pool period."""

    pool: str                   # the pool's deployment
    period_start: date
    period_end: date            # inclusive
    subscriptions: tuple[str, ...]
    models: tuple[str, ...]
    requests: int
    unmetered: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    weighted_tokens: Decimal    # sum over meters of weight x quantity
    pool_weighted_tokens: Decimal
    share: Decimal              # weighted_tokens / pool_weighted_tokens, 6 places, for display only
    pool_cost: Decimal
    amount: Decimal             # largest-remainder share of pool_cost
    meters: MeterQuantities = NO_USAGE
    weights: dict[str, Decimal] = field(default_factory=dict)   # the pool's weight per meter
    kind: typing.ClassVar[str] = "pool"


@dataclass(frozen=True)
class ActualLine:
    """A department's part of Azure's actual cost of one ``actuals.meters`` target (modes actual, true_up).

    ``measured`` is the department's measured quantity (a pool: its weighted tokens), ``billed`` the quantity
    Azure billed for the whole target (a pool: every department's weighted tokens), in ``unit``."""

    target: str                 # "deployment/meter", "pool:deployment", or "unmapped"
    deployment: str | None
    meter: str | None
    pool: str | None
    meter_names: tuple[str, ...]   # the Cost Management meter names behind the target
    measured: Decimal
    billed: Decimal
    unit: str
    actual_cost: Decimal        # the target's whole actual cost in the month
    amount: Decimal             # the department's part, to the minor unit (largest remainder)


@dataclass(frozen=True)
class TrueUpLine:
    """Mode true_up: the one line that lands a department's list-price lines on its part of the actual bill."""

    list_subtotal: Decimal      # the department's list-price lines
    actual: Decimal             # its part of Azure's actual bill
    amount: Decimal             # actual - list_subtotal (a credit when negative)
    source: str                 # the export it came from, e.g. "FOCUS 1.2 export focus.csv"


@dataclass(frozen=True)
class ReconciledMeter:
    """One ``actuals.meters`` target, list-priced month vs Azure's bill (the finance summary's reconciliation)."""

    target: str
    meter_names: tuple[str, ...]
    measured: Decimal           # quantity measured at the gateway (a pool: weighted tokens)
    billed: Decimal             # quantity Azure billed (a pool: hours, as the export says)
    unit: str
    bypassed_percent: Decimal | None   # (billed - measured) / billed x 100; None for pools and nothing billed
    list_cost: Decimal
    actual_cost: Decimal
    difference: Decimal         # actual - list
    drift_percent: Decimal | None      # difference / list x 100; None without a list cost
    warn: bool                  # beyond actuals.drift_warn_percent


@dataclass(frozen=True)
class DepartmentCharges:
    """A department's invoice: its lines, their subtotal, the markup on it, and the total.

    In mode ``actual`` the subtotal is the sum of ``actual_lines`` (the list-price ``lines`` stay, for usage
    and explanation); in ``true_up`` it is the list-price lines plus ``true_up``."""

    department: str
    name: str
    cost_center: str
    lines: tuple[PaygLine | PoolLine, ...]
    subtotal: Decimal
    markup: Decimal
    total: Decimal
    actual_lines: tuple[ActualLine, ...] = ()
    true_up: TrueUpLine | None = None


@dataclass(frozen=True)
class PoolCharge:
    """A pool's cost for one period of the month and how it was shared."""

    deployment: str
    period_start: date
    period_end: date            # inclusive
    hours: int
    basis: str                  # how ``cost`` was worked out, in words and figures
    cost: Decimal
    weights: dict[str, Decimal]
    weighted_tokens: Decimal
    shares: dict[str, Decimal]  # department id -> amount; sums to cost exactly


@dataclass(frozen=True)
class UnpricedUsage:
    """Usage of a deployment with neither a price nor a pool in effect: shown, not charged."""

    department: str
    subscription: str
    deployment: str
    models: tuple[str, ...]
    first_day: date
    last_day: date
    requests: int
    unmetered: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    meters: MeterQuantities = NO_USAGE   # the quantities not charged, per meter
    reason: str = ""                     # why: no price or pool, or a price naming no rate for these meters


@dataclass(frozen=True)
class MonthCharges:
    """Everything a month's invoicing run charges; ``grand_total`` is the sum of department totals."""

    month: str
    currency: str
    minor_unit: int
    markup_percent: Decimal
    config_fingerprint: str
    departments: tuple[DepartmentCharges, ...]
    pools: tuple[PoolCharge, ...]
    unpriced: tuple[UnpricedUsage, ...]
    warnings: tuple[str, ...]
    grand_total: Decimal
    mode: str = "list"                                    # actuals.mode the month was invoiced in
    reconciliation: tuple[ReconciledMeter, ...] = ()      # when the month has actuals, in any mode

    def department(self, department_id: str) -> DepartmentCharges | None:
        return next((d for d in self.departments if d.department == department_id), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: Decimals as strings, dates ISO, each line tagged with its ``kind``."""
        plain: dict[str, Any] = _plain(self)
        return plain

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonthCharges:
        built: MonthCharges = _build(cls, data)
        return built


# Fields added later and left out at their default, so a month without them stores (and hashes) as before.
_OMITTED_AT_DEFAULT = frozenset({"spilled_from"})
_LINE_KINDS: dict[str, type[PaygLine | PoolLine]] = {PaygLine.kind: PaygLine, PoolLine.kind: PoolLine}
# Leaf values and how they are written / read back.
_TO_TEXT: dict[type, Callable[[Any], Any]] = {
    MeterQuantities: MeterQuantities.to_dict, Decimal: str, date: date.isoformat}
_FROM_TEXT: dict[object, Callable[[Any], Any]] = {
    MeterQuantities: MeterQuantities.from_dict, Decimal: Decimal, date: date.fromisoformat}


def _plain(value: Any) -> Any:
    for kind, write in _TO_TEXT.items():
        if isinstance(value, kind):
            return write(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"kind": value.kind} if isinstance(value, (PaygLine, PoolLine)) else {}
        out.update((f.name, _plain(getattr(value, f.name))) for f in dataclasses.fields(value)
                   if not (f.name in _OMITTED_AT_DEFAULT and getattr(value, f.name) == f.default))
        return out
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _build(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    # A field missing from the data (a run stored before meters) takes its default.
    return cls(**{f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data})


def _decode(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None or hint in _FROM_TEXT:
        return None if value is None else _FROM_TEXT[hint](value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value)
    if origin in (tuple, dict):   # tuple[X, ...] from a list, dict[str, X] from a mapping
        return tuple(_decode(args[0], v) for v in value) if origin is tuple else \
            {k: _decode(args[1], v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        if isinstance(value, dict) and "kind" in value:   # a line: PaygLine | PoolLine, told apart by kind
            return _build(_LINE_KINDS[value["kind"]], value)
        return _decode(next(a for a in args if a is not type(None)), value)   # X | None
    return value
