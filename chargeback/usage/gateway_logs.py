"""API Management resource logs on the Event Hub (Azure Monitor records) -> the two halves of a call.

A diagnostic setting sends ``{"records": [...]}``; each record has the top-level common schema (``time``,
``resourceId``, ``category``, ``properties``: "Common and service-specific schemas for Azure resource
logs"). Two categories matter (fields relied on, and what is not documented: policies/README.md):

- ``GatewayLogs`` (table ApiManagementGatewayLogs): one per request, the *request half*: CorrelationId,
  ApimSubscriptionId, ProductId, ApiId, OperationId, ResponseCode, Region.
- ``GatewayLlmLogs`` (table ApiManagementGatewayLlmLog): the *LLM half*: CorrelationId ("corresponding with
  the same field in ApiManagementGatewayLogs"), DeploymentName, ModelName, PromptTokens, CompletionTokens,
  IsStreamCompletion, SequenceNumber (large messages are split into several entries).

The documentation names the fields as Log Analytics columns (PascalCase); on an Event Hub the same
fields arrive camelCase, some at the top level (correlationId). Fields are therefore read by name
without regard to case, from ``properties`` first, then from the record itself.

Pure functions, one per record kind, in the style of ``events.parse_batch``; the join is storage's
(chargeback/storage/gateway_halves.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chargeback.errors import InvalidEvent
from chargeback.months import invoiceable
from chargeback.usage.meters import MeterQuantities
from chargeback.usage.record import UsageRecord

REQUEST_CATEGORY = "GatewayLogs"
LLM_CATEGORY = "GatewayLlmLogs"
# schema_version of a record completed from gateway logs (1: the seed's policy, 2: this product's policy).
GATEWAY_LOGS_SCHEMA = 3
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,200}$")
# ISO-8601 as Azure Monitor writes it: 7 fractional digits are common, Python reads at most 6.
_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$")


@dataclass(frozen=True, slots=True)
class RequestHalf:
    """A GatewayLogs record: who called (the subscription) and how the gateway answered."""

    correlation_id: str
    time: datetime
    subscription: str
    product: str = ""
    api: str = ""
    operation: str = ""
    status_code: int = 0
    region: str = ""

    @property
    def month(self) -> str:
        return f"{self.time.year:04d}-{self.time.month:02d}"


@dataclass(frozen=True, slots=True)
class LlmHalf:
    """One GatewayLlmLogs record: what the model used. ``stream`` from IsStreamCompletion."""

    correlation_id: str
    time: datetime
    sequence: int
    deployment: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    stream: bool

    @property
    def month(self) -> str:
        return f"{self.time.year:04d}-{self.time.month:02d}"


Half = RequestHalf | LlmHalf


@dataclass(frozen=True, slots=True)
class LoneHalf:
    """A call of which only one half has arrived."""

    correlation_id: str
    kind: str          # "request" (GatewayLogs only) or "llm" (GatewayLlmLogs only)
    time: datetime
    subscription: str  # "" for an LLM half
    deployment: str    # "" for a request half
    stream: bool
    prompt_tokens: int
    completion_tokens: int

    def as_dict(self) -> dict[str, Any]:
        return {"correlation_id": self.correlation_id, "kind": self.kind, "time": self.time.isoformat(),
                "subscription": self.subscription, "deployment": self.deployment, "stream": self.stream,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass(frozen=True, slots=True)
class MonthHalves:
    """What a month's halves say: calls completed from the logs, the cross-check count, lone halves."""

    streamed_calls: int         # both halves, streamed: billed from the logs
    non_streamed_llm_calls: int  # both halves or not, not streamed: billed by their v2 event; cross-check only
    lone: tuple[LoneHalf, ...]

    @property
    def lone_requests(self) -> int:
        return sum(1 for h in self.lone if h.kind == "request")

    @property
    def lone_llm(self) -> int:
        return sum(1 for h in self.lone if h.kind == "llm")


def is_monitor_envelope(doc: object) -> bool:
    """True for an Azure Monitor resource-log message: an object whose ``records`` is a list."""
    return isinstance(doc, dict) and isinstance(doc.get("records"), list) and "schemaVersion" not in doc


def parse_envelope(doc: dict[str, Any]) -> tuple[list[Half], list[str]]:
    """The halves of an envelope's records, and a reason for each record that is not one.

    Records of other categories are skipped silently (the setting may carry more than these two)."""
    halves: list[Half] = []
    problems: list[str] = []
    for index, record in enumerate(doc["records"]):
        if not isinstance(record, dict):
            problems.append(f"records[{index}] is not an object")
            continue
        category = record.get("category")
        try:
            if category == REQUEST_CATEGORY:
                halves.append(parse_request_half(record))
            elif category == LLM_CATEGORY:
                halves.append(parse_llm_half(record))
        except InvalidEvent as exc:
            problems.append(f"records[{index}] ({category}): {exc}")
    return halves, problems


def parse_request_half(record: dict[str, Any]) -> RequestHalf:
    subscription = _text(record, "ApimSubscriptionId")
    if not subscription:
        raise InvalidEvent("no subscription: ApimSubscriptionId is missing or empty")
    status = _field(record, "ResponseCode")
    if status is None:
        status = 0
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 999:
        raise InvalidEvent(f"ResponseCode must be an HTTP status, got {status!r}"[:120])
    return RequestHalf(_correlation(record), _time(record), subscription, _text(record, "ProductId"),
                       _text(record, "ApiId"), _text(record, "OperationId"), status, _text(record, "Region"))


def parse_llm_half(record: dict[str, Any]) -> LlmHalf:
    stream = _field(record, "IsStreamCompletion")
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise InvalidEvent(f"IsStreamCompletion must be true or false, got {stream!r}"[:120])
    return LlmHalf(_correlation(record), _time(record), _count(record, "SequenceNumber"),
                   _text(record, "DeploymentName"), _text(record, "ModelName"),
                   _count(record, "PromptTokens"), _count(record, "CompletionTokens"), stream)


def complete(request: RequestHalf, llm: list[LlmHalf]) -> UsageRecord | None:
    """The usage record of a streamed call whose halves are both here; None when it is not billed here.

    Not billed here: a call without LLM half yet, and a non-streamed call (its v2 event bills it).
    Several LLM records of one call (a split message, a redelivery) carry one call's counts: taken
    once, as the largest of each (summing would count a split call twice; see policies/README.md).
    The record id is the CorrelationId as the v2 policy writes context.RequestId ("D" format, lower
    case), so the same call metered both ways is one row, never two.
    """
    streamed = [half for half in llm if half.stream]
    if not streamed:
        return None
    first = min(streamed, key=lambda half: half.sequence)
    meters = MeterQuantities.from_text_tokens(max(h.prompt_tokens for h in streamed), 0,
                                              max(h.completion_tokens for h in streamed))
    return UsageRecord(request.correlation_id, request.time, request.subscription, first.deployment,
                       metered=True, stream=True, model=first.model, product=request.product,
                       operation=request.operation, region=request.region,
                       status_code=request.status_code or 200, schema_version=GATEWAY_LOGS_SCHEMA,
                       meters=meters, path="/chat/completions")


def _field(record: dict[str, Any], name: str) -> Any:
    """A field by name, any case, from ``properties`` first, then the record's top level."""
    wanted = name.lower()
    properties = record.get("properties")
    for source in (properties if isinstance(properties, dict) else {}, record):
        for key, value in source.items():
            if isinstance(key, str) and key.lower() == wanted:
                return value
    return None


def _text(record: dict[str, Any], name: str) -> str:
    value = _field(record, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} must be text, got {value!r}"[:120])
    return value.strip()[:256]


def _count(record: dict[str, Any], name: str) -> int:
    value = _field(record, name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEvent(f"{name} must be a non-negative integer, got {value!r}"[:120])
    return value


def _correlation(record: dict[str, Any]) -> str:
    value = _text(record, "CorrelationId")
    if not _CORRELATION_RE.fullmatch(value):
        raise InvalidEvent(f"CorrelationId must be an id of letters, digits and ._:@-, got {value!r}"[:120])
    return value.lower()


def _time(record: dict[str, Any]) -> datetime:
    value = record.get("time")
    match = _TIME_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidEvent(f"time must be an ISO-8601 UTC time, got {value!r}"[:120])
    whole, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = "+00:00" if zone in (None, "Z") else zone
    try:
        parsed = datetime.fromisoformat(f"{whole}.{micros:06d}{offset}").astimezone(UTC)
    except ValueError:
        raise InvalidEvent(f"time is not a valid date: {value!r}"[:120]) from None
    if not invoiceable(parsed):
        raise InvalidEvent(f"time {parsed.isoformat()} is outside the invoiceable years")
    return parsed
