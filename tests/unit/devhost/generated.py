"""Generated months and readers of their lines with json/datetime/yaml only (not the project's parser), shared by
the generator's tests."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache

import yaml

from devhost.generate.month import GeneratedMonth, generate_month

MONTH = "2026-10"             # starts on a Thursday; 31 days, 9 weekend days
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
V1_TIMESTAMP = re.compile(r"^(1[0-2]|[1-9])/([1-9]|[12]\d|3[01])/\d{4} (1[0-2]|[1-9]):[0-5]\d:[0-5]\d (AM|PM)$")
V2_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TEXT_DEPLOYMENTS = {"gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-large", "gpt-4o-ptu"}
MODALITY_DEPLOYMENTS = {"gpt-4o-audio", "gpt-image-1", "gpt-4o-transcribe", "whisper", "tts-hd"}


@cache
def v2_month() -> GeneratedMonth:
    return generate_month(MONTH, departments=6, events=20_000, fmt="v2", seed=7)


@cache
def v1_month() -> GeneratedMonth:
    return generate_month(MONTH, departments=5, events=8_000, fmt="v1", seed=11)


def parse_v2_time(text: str) -> datetime | None:
    if not V2_TIMESTAMP.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_v1_time(text: str) -> datetime | None:
    if not V1_TIMESTAMP.match(text):
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)
    except ValueError:
        return None


def chat_tokens(usage: dict) -> tuple[int, int, int, int]:
    """(prompt, cached, completion, reasoning) of any usage shape, read the way the reference describes it."""
    if usage.get("type") == "duration":
        return (0, 0, 0, 0)
    if "input_tokens" in usage:
        return (usage["input_tokens"], (usage.get("input_tokens_details") or {}).get("cached_tokens", 0),
                usage["output_tokens"], (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0))
    return (usage["prompt_tokens"], (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
            usage.get("completion_tokens", 0),
            (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)


def classify_v2(line: str) -> tuple[str | None, dict | None]:
    """(why it is bad or None, the event)."""
    try:
        event = json.loads(line)
    except ValueError:
        return "not_json", None
    if event.get("schemaVersion") != 2:
        return "unknown_schema", event
    if not event.get("subscriptionId"):
        return "missing_subscription", event
    if parse_v2_time(event["timestamp"]) is None:
        return "bad_timestamp", event
    if event["usage"] is not None and min((v for v in event["usage"].values() if isinstance(v, int)), default=0) < 0:
        return "negative_tokens", event
    return None, event


def classify_v1(line: str) -> tuple[str | None, dict | None]:
    try:
        event = json.loads(line)
    except ValueError:
        return "not_json", None
    if "schemaVersion" in event:
        return "unknown_schema", event
    if not event.get("appSubscriptionKey"):
        return "missing_subscription", event
    if parse_v1_time(event["timestamp"]) is None:
        return "bad_timestamp", event
    if min(int(event[f]) for f in ("promptTokens", "completionTokens", "totalTokens")) < 0:
        return "negative_tokens", event
    return None, event


def good_events(month, classify) -> list[dict]:
    return [event for kind, event in map(classify, month.lines) if kind is None]


def load_config(month) -> dict:
    config = yaml.safe_load(month.config_yaml)
    assert config["currency"] == "USD" and config["admins"]
    for department in config["departments"]:
        assert re.fullmatch(r"[a-z0-9-]+", department["id"])
        assert 1 <= len(department["subscriptions"]) <= 3
        emails = department["owners"] + department["notify"]["email"] + config["admins"]
        assert all(e.endswith("@example.com") for e in emails)
    return config


def claimed(config: dict) -> set[str]:
    return {s for d in config["departments"] for s in d["subscriptions"]}
