"""A v2 event's attribution fields (endUser, tags) and its spill-over field (servedDeployment), validated.

A bad tag is dropped, never the event: the call is still billed, only the label is lost. The policy
already bounds what it sends (policies/README.md); these bounds hold for any producer.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from chargeback.errors import InvalidEvent

MAX_END_USER = 128
MAX_TAGS = 8
MAX_TAG_KEY = 32
MAX_TAG_VALUE = 64
# Keys as FOCUS tag keys and Table Storage columns take them; values without separators or controls.
_TAG_KEY_RE = re.compile(r"^[a-z][a-z0-9_.-]*$")
_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")
# An end user id: printable, no controls or separators a sheet or header could misread.
_END_USER_RE = re.compile(r"^[\x21-\x7e]+$")
HASH_PREFIX = "hmac:"


def end_user(doc: dict[str, Any], hash_key: str) -> str:
    """The event's ``endUser``: trimmed, bounded, and with ``hash_key`` set its HMAC-SHA256, never the raw id.

    A value that is no id (too long, controls, spaces) is dropped to "" like a bad tag: the call still bills.
    """
    value = doc.get("endUser")
    if value is None:
        return ""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if not value or len(value) > MAX_END_USER or not _END_USER_RE.fullmatch(value):
        return ""
    if hash_key:
        digest = hmac.new(hash_key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()
        return HASH_PREFIX + digest
    return value


def tags(doc: dict[str, Any]) -> tuple[str, ...]:
    """The event's valid ``key=value`` tags, sorted, one per key (the first kept), at most ``MAX_TAGS``.

    ``tags`` is a list of strings or one comma-separated string; anything else in it is dropped.
    """
    value = doc.get("tags")
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    kept: dict[str, str] = {}
    for item in items:
        parsed = parse_tag(item)
        if parsed is not None and parsed[0] not in kept and len(kept) < MAX_TAGS:
            kept[parsed[0]] = parsed[1]
    return tuple(sorted(f"{k}={v}" for k, v in kept.items()))


def parse_tag(item: object) -> tuple[str, str] | None:
    """``(key, value)`` of one valid ``key=value`` label (key lower-cased), else None."""
    if not isinstance(item, str) or "=" not in item:
        return None
    key, _, tag_value = item.partition("=")
    key, tag_value = key.strip().lower(), tag_value.strip()
    if not 0 < len(key) <= MAX_TAG_KEY or not 0 < len(tag_value) <= MAX_TAG_VALUE:
        return None
    if not _TAG_KEY_RE.fullmatch(key) or not _TAG_VALUE_RE.fullmatch(tag_value):
        return None
    return key, tag_value


def served_deployment(doc: dict[str, Any]) -> str:
    """The deployment that served the call (Azure's ``x-ms-deployment-name``), "" when not sent."""
    value = doc.get("servedDeployment")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvent("servedDeployment must be text")
    return value.strip()[:256]
