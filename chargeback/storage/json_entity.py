"""JSON documents larger than one Table property (32K characters) split across numbered properties."""
from __future__ import annotations

import json
from typing import Any

CHUNK = 30_000          # characters per property (a string property holds 64 KiB of UTF-16)
MAX_CHUNKS = 30         # an entity holds at most 1 MiB


def to_properties(document: Any, prefix: str = "Json") -> dict[str, Any]:
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)
    chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"document of {len(text):,} characters exceeds what one table entity holds")
    return {f"{prefix}Parts": len(chunks), **{f"{prefix}{i}": c for i, c in enumerate(chunks)}}


def from_properties(entity: dict[str, Any], prefix: str = "Json") -> Any:
    parts = int(entity[f"{prefix}Parts"])
    return json.loads("".join(entity[f"{prefix}{i}"] for i in range(parts)))
