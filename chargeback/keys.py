"""Subscription-key fingerprints: the only form in which a key is ever kept."""
from __future__ import annotations

import hashlib
import re

FINGERPRINT_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def fingerprint(key: str) -> str:
    """``sha256:<hex>`` of an APIM subscription key (what admins list in ``subscriptions``)."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_fingerprint(value: str) -> bool:
    return bool(FINGERPRINT_RE.fullmatch(value))
