"""Generated events as the APIM policies put them on Event Hub: v2 bodies, the seed's v1 bodies, bad ones."""
from __future__ import annotations

import json
import random
import uuid

from devhost.generate.tenants import Subscription
from devhost.generate.workloads import Call, Workload

REGION = "East US"
BAD_KINDS = ("not_json", "negative_tokens", "missing_subscription", "bad_timestamp", "unknown_schema")
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode   # JObject.ToString(Formatting.None) is compact


def v2_timestamp(year: int, month: int, offset_ms: int) -> str:
    """ISO 8601 with milliseconds and Z, ``offset_ms`` after the month's first midnight (UTC)."""
    seconds, ms = divmod(offset_ms, 1000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    day, hour = divmod(hours, 24)
    return f"{year:04d}-{month:02d}-{day + 1:02d}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


def v1_timestamp(year: int, month: int, offset_ms: int) -> str:
    """.NET ``DateTime.UtcNow.ToString()`` in en-US culture: ``10/7/2026 3:15:00 PM`` (no milliseconds)."""
    seconds = offset_ms // 1000
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    day, hour = divmod(hours, 24)
    clock = hour % 12 or 12
    return f"{month}/{day + 1}/{year} {clock}:{minute:02d}:{second:02d} {'PM' if hour >= 12 else 'AM'}"


def request_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def v2_event(rng: random.Random, timestamp: str, subscription: Subscription, workload: Workload, call: Call) -> dict:
    """A v2 body, fields in the order policies/ writes them."""
    return {"schemaVersion": 2, "requestId": request_id(rng), "timestamp": timestamp,
            "subscriptionId": subscription.id, "subscriptionName": subscription.name,
            "productName": subscription.product, "deploymentId": workload.deployment,
            "operationId": workload.operation, "apiVersion": workload.api_version, "region": REGION,
            "statusCode": 200, "stream": call.stream, "model": workload.model, "usage": call.usage,
            "path": call.path, "inputCharacters": call.input_characters,
            # what the policy sends with attribution and spill-over unconfigured (policies/README.md)
            "endUser": None, "tags": None, "servedDeployment": None}


def v1_event(timestamp: str, subscription: Subscription, workload: Workload, call: Call) -> dict:
    """The seed policy's body: the raw key and token counts as strings (``JToken.ToString()``)."""
    return {"timestamp": timestamp, "appSubscriptionKey": subscription.key, "promptTokens": str(call.prompt),
            "completionTokens": str(call.completion), "totalTokens": str(call.prompt + call.completion),
            "deploymentId": workload.deployment}


def encode(event: dict) -> str:
    return _DUMPS(event)


def bad_event(kind: str, event: dict, year: int, month: int) -> str:
    """``event`` spoiled in one way a real pipeline meets (truncation, bad producer, missing header ...)."""
    event = dict(event)
    v1 = "appSubscriptionKey" in event
    if kind == "not_json":
        text = encode(event)
        return text[: len(text) // 2]   # log-to-eventhub truncates oversized messages silently
    if kind == "negative_tokens":
        if v1:
            event["promptTokens"] = "-" + event["promptTokens"]
        else:
            event["usage"] = {"prompt_tokens": -42, "completion_tokens": 17, "total_tokens": -25}
    elif kind == "missing_subscription":
        if v1:
            event["appSubscriptionKey"] = ""   # GetValueOrDefault(..., string.Empty) with no key header
        else:
            del event["subscriptionId"]
    elif kind == "bad_timestamp":
        event["timestamp"] = f"13/45/{year} 25:61:00 PM" if v1 else f"{year:04d}-{month:02d}-45T25:61:00.000Z"
    elif kind == "unknown_schema":
        event.pop("schemaVersion", None)
        event = {"schemaVersion": 99, **event}   # a future producer; schemaVersion leads so it is seen first
    else:
        raise ValueError(f"unknown bad event kind {kind!r}")
    return encode(event)
